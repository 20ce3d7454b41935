"""Moving servers between the three fake hosts of `make up` with the real `openstack` CLI:
resize with confirm and revert, cold and live migration (an attached volume along), a disabled
host, evacuation of a forced-down host, the migration list, and `nimbus host drain`."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAKE_HOSTS, ROOT, Cli, RunningCloud, clean_env
from tests.e2e.helpers import unique
from tests.e2e.helpers import wait_status as volume_status

pytestmark = pytest.mark.e2e

HOSTS = [f"fake-{i}" for i in range(1, FAKE_HOSTS + 1)]


@pytest.fixture(scope="module")
def image(admin_cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("img") / "disk.raw"
    path.write_bytes(b"\x00nimbus e2e moves\x00" * 4096)
    created = admin_cli.json("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "--file", str(path), "--public", unique("e2e-moves"))
    image_id: str = created["id"]
    return image_id


def create_server(cli: Cli, image: str, *extra: str) -> dict[str, Any]:
    server: dict[str, Any] = cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                                      "--nic", "none", "--wait", *extra, unique("e2e-move"))
    assert server["status"] == "ACTIVE", server
    return server


def wait_status(cli: Cli, server: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown: dict[str, Any] = cli.json("server", "show", server)
        if shown["status"] in statuses:
            return shown
        assert time.monotonic() < deadline, f"{server} still {shown['status']}"
        time.sleep(0.5)


@pytest.fixture
def disabled(admin_cli: Cli) -> Iterator[list[str]]:
    """Hosts a test disabled or forced down; put back afterwards for the other tests."""
    hosts: list[str] = []
    yield hosts
    for host in hosts:
        admin_cli.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--up",
                      "--enable", host, "nova-compute")


def test_resize_confirm_then_revert(admin_cli: Cli, image: str) -> None:
    server = create_server(admin_cli, image)
    sid = server["id"]
    source = admin_cli.json("server", "show", sid)["OS-EXT-SRV-ATTR:host"]

    admin_cli.run("server", "resize", "--flavor", "m1.small", "--wait", sid)
    resized = wait_status(admin_cli, sid, "VERIFY_RESIZE")
    assert resized["flavor"]["name"] == "m1.small"
    assert resized["OS-EXT-SRV-ATTR:host"] != source
    admin_cli.run("server", "resize", "confirm", sid)
    confirmed = wait_status(admin_cli, sid, "ACTIVE", "ERROR")
    assert confirmed["status"] == "ACTIVE"

    admin_cli.run("server", "resize", "--flavor", "m1.medium", "--wait", sid)
    wait_status(admin_cli, sid, "VERIFY_RESIZE")
    admin_cli.run("server", "resize", "revert", sid)
    reverted = wait_status(admin_cli, sid, "ACTIVE", "ERROR")
    assert reverted["status"] == "ACTIVE"
    assert reverted["flavor"]["name"] == "m1.small"
    assert reverted["OS-EXT-SRV-ATTR:host"] == confirmed["OS-EXT-SRV-ATTR:host"]

    migrations = admin_cli.json("server", "migration", "list", "--server", sid)
    assert sorted(m["Status"] for m in migrations) == ["confirmed", "reverted"]
    admin_cli.run("server", "delete", "--wait", sid)


def test_cold_and_live_migration_move_the_server(admin_cli: Cli, image: str) -> None:
    sid = create_server(admin_cli, image)["id"]
    first = admin_cli.json("server", "show", sid)["OS-EXT-SRV-ATTR:host"]

    admin_cli.run("server", "migrate", "--wait", sid)
    migrated = wait_status(admin_cli, sid, "VERIFY_RESIZE")
    second = migrated["OS-EXT-SRV-ATTR:host"]
    assert second != first
    admin_cli.run("server", "migration", "confirm", sid)
    wait_status(admin_cli, sid, "ACTIVE")

    target = next(h for h in HOSTS if h != second)
    admin_cli.run("--os-compute-api-version", "2.30", "server", "migrate", "--live-migration",
                  "--host", target, "--wait", sid)
    live = wait_status(admin_cli, sid, "ACTIVE", "ERROR")
    assert live["status"] == "ACTIVE"
    assert live["OS-EXT-SRV-ATTR:host"] == target

    listed = admin_cli.json("--os-compute-api-version", "2.59", "server", "migration", "list",
                            "--server", sid)
    kinds = {m["Type"]: m for m in listed}
    assert set(kinds) == {"migration", "live-migration"}
    assert kinds["live-migration"]["Status"] == "completed"
    assert kinds["live-migration"]["Dest Compute"] == target
    assert kinds["migration"]["Source Compute"] == first
    admin_cli.run("server", "delete", "--wait", sid)


def test_an_attached_volume_follows_the_server(admin_cli: Cli, image: str) -> None:
    """After a cold and a live migration, `server show` still lists the volume and Cinder's
    one attachment names the host the server runs on."""
    sid, volume = create_server(admin_cli, image)["id"], unique("e2e-move-vol")
    admin_cli.run("volume", "create", "--size", "1", volume)
    assert volume_status(admin_cli, ["volume"], volume, "available", "error")["status"] == \
        "available"
    admin_cli.run("server", "add", "volume", sid, volume)
    volume_status(admin_cli, ["volume"], volume, "in-use", "error")

    def connected_at(host: str) -> None:
        shown = admin_cli.json("volume", "show", volume)
        assert shown["status"] == "in-use"
        assert [(a["server_id"], a["host_name"]) for a in shown["attachments"]] == [(sid, host)]
        assert shown["id"] in str(admin_cli.json("server", "show", sid)["volumes_attached"])

    admin_cli.run("server", "migrate", "--wait", sid)
    migrated = wait_status(admin_cli, sid, "VERIFY_RESIZE")
    connected_at(migrated["OS-EXT-SRV-ATTR:host"])
    admin_cli.run("server", "migration", "confirm", sid)
    wait_status(admin_cli, sid, "ACTIVE")

    target = next(h for h in HOSTS if h != migrated["OS-EXT-SRV-ATTR:host"])
    admin_cli.run("--os-compute-api-version", "2.30", "server", "migrate", "--live-migration",
                  "--host", target, "--wait", sid)
    assert wait_status(admin_cli, sid, "ACTIVE", "ERROR")["OS-EXT-SRV-ATTR:host"] == target
    connected_at(target)
    admin_cli.run("server", "delete", "--wait", sid)
    volume_status(admin_cli, ["volume"], volume, "available", "error")
    admin_cli.run("volume", "delete", volume)


def test_a_disabled_host_gets_no_new_server(admin_cli: Cli, image: str,
                                            disabled: list[str]) -> None:
    admin_cli.run("compute", "service", "set", "--disable", "fake-1", "nova-compute")
    disabled.append("fake-1")

    servers = [create_server(admin_cli, image)["id"] for _ in range(3)]

    hosts = {admin_cli.json("server", "show", s)["OS-EXT-SRV-ATTR:host"] for s in servers}
    assert "fake-1" not in hosts
    for sid in servers:
        admin_cli.run("server", "delete", "--wait", sid)


def test_evacuate_a_forced_down_host(admin_cli: Cli, image: str,
                                     disabled: list[str]) -> None:
    sid = create_server(admin_cli, image)["id"]
    source = admin_cli.json("server", "show", sid)["OS-EXT-SRV-ATTR:host"]
    refused = admin_cli.run("server", "evacuate", sid, check=False)
    assert refused.returncode != 0 and "still in use" in refused.stderr

    admin_cli.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--down",
                  source, "nova-compute")
    disabled.append(source)
    # Not --wait: this CLI's evacuate waits for "ACTIVE" against a lowercased status, forever.
    admin_cli.run("server", "evacuate", sid)
    evacuated = wait_status(admin_cli, sid, "ACTIVE", "ERROR")

    assert evacuated["status"] == "ACTIVE"
    assert evacuated["OS-EXT-SRV-ATTR:host"] not in (source, None)
    migrations = admin_cli.json("server", "migration", "list", "--server", sid,
                                "--type", "evacuation")
    assert [m["Source Compute"] for m in migrations] == [source]
    admin_cli.run("server", "delete", "--wait", sid)


def test_nimbus_host_drain_live_migrates_every_server(admin_cli: Cli, image: str,
                                                      nimbus: RunningCloud,
                                                      disabled: list[str]) -> None:
    servers = [create_server(admin_cli, image, "--availability-zone", "nova:fake-2")["id"]
               for _ in range(2)]
    disabled.append("fake-2")

    drained = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "nimbus"), "host", "drain", "fake-2"],
        env={**clean_env(), "NIMBUS_STATE_DIR": str(nimbus.state_dir),
             "NIMBUS_PORT": str(nimbus.port)},
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)

    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert "fake-2 is empty" in drained.stdout
    for sid in servers:
        shown = admin_cli.json("server", "show", sid)
        assert shown["status"] == "ACTIVE"
        assert shown["OS-EXT-SRV-ATTR:host"] != "fake-2"
    service = admin_cli.json("compute", "service", "list", "--host", "fake-2",
                             "--service", "nova-compute", "--long")[0]
    assert service["Status"] == "disabled" and service["Disabled Reason"] == "draining"
    for sid in servers:
        admin_cli.run("server", "delete", "--wait", sid)
