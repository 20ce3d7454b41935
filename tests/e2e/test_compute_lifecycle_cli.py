"""Server life-cycle actions through the real `openstack` CLI against `make up` (fake hosts):
snapshot, rescue, rebuild and shelve, each to its final status and its events."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e

DISK = b"\x00nimbus e2e life-cycle disk\x00" * 4096


@pytest.fixture(scope="module")
def image(admin_cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("img") / "disk.raw"
    path.write_bytes(DISK)
    created = admin_cli.json("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "--file", str(path), "--public", unique("e2e-life"))
    image_id: str = created["id"]
    return image_id


@pytest.fixture
def server(admin_cli: Cli, image: str) -> str:
    name = unique("e2e-life-vm")
    created = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                             "--nic", "none", "--wait", name)
    assert created["status"] == "ACTIVE"
    return name


def settled(cli: Cli, name: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
    """`server show` once the server has `status` and no task (the CLI's rescue has no --wait)."""
    deadline = time.monotonic() + timeout
    while True:
        shown: dict[str, Any] = cli.json("server", "show", name)
        if shown["status"] == status and shown["OS-EXT-STS:task_state"] is None:
            return shown
        assert time.monotonic() < deadline, f"{name} is {shown['status']}, wanted {status}"
        time.sleep(0.5)


def events(cli: Cli, name: str, action: str) -> dict[str, str]:
    """event -> result of the server's latest `action`, from `server event list/show`."""
    listed = [e for e in cli.json("server", "event", "list", name) if e["Action"] == action]
    assert listed, f"no {action} among the events of {name}"
    detail = cli.json("server", "event", "show", name, listed[0]["Request ID"])
    return {e["event"]: e["result"] for e in detail["events"]}


def test_server_image_create_uploads_the_disk(admin_cli: Cli, server: str,
                                              tmp_path: Path) -> None:
    snap = unique("e2e-snap")
    created = admin_cli.json("server", "image", "create", "--name", snap, "--wait", server)
    image = admin_cli.json("image", "show", created["id"])
    saved = tmp_path / "snap.raw"
    admin_cli.run("image", "save", "--file", str(saved), created["id"])

    assert image["status"] == "active"
    assert image["properties"]["image_type"] == "snapshot"
    assert saved.read_bytes() == DISK
    assert events(admin_cli, server, "createImage") == {"compute_snapshot_instance": "Success"}
    admin_cli.run("image", "delete", created["id"])
    admin_cli.run("server", "delete", "--wait", server)


def test_server_rescue_and_unrescue(admin_cli: Cli, server: str, image: str) -> None:
    admin_cli.run("server", "rescue", "--image", image, "--password", "e2e-pass", server)
    rescued = settled(admin_cli, server, "RESCUE")
    admin_cli.run("server", "unrescue", server)
    back = settled(admin_cli, server, "ACTIVE")

    assert rescued["OS-EXT-STS:vm_state"] == "rescued"
    assert back["OS-EXT-STS:vm_state"] == "active"
    assert events(admin_cli, server, "rescue") == {"compute_rescue_instance": "Success"}
    assert events(admin_cli, server, "unrescue") == {"compute_unrescue_instance": "Success"}
    admin_cli.run("server", "delete", "--wait", server)


def test_server_rebuild_with_another_image(admin_cli: Cli, server: str,
                                           tmp_path: Path) -> None:
    path = tmp_path / "other.raw"
    path.write_bytes(b"\x01another disk\x01" * 4096)
    other = admin_cli.json("image", "create", "--disk-format", "raw", "--container-format",
                           "bare", "--file", str(path), unique("e2e-other"))["id"]
    renamed = unique("e2e-rebuilt")
    admin_cli.run("server", "rebuild", "--image", other, "--name", renamed, "--wait", server)
    shown = settled(admin_cli, renamed, "ACTIVE")

    # The CLI shows the image as "name (id)" or as a mapping, by version: the id is in both.
    assert other in str(shown["image"])
    assert events(admin_cli, renamed, "rebuild") == {"compute_rebuild_instance": "Success"}
    admin_cli.run("server", "delete", "--wait", renamed)
    admin_cli.run("image", "delete", other)


def test_server_shelve_offloads_and_unshelve_comes_back(admin_cli: Cli, server: str) -> None:
    admin_cli.run("server", "shelve", "--wait", server)
    shelved = settled(admin_cli, server, "SHELVED_OFFLOADED")
    shelved_images = [i for i in admin_cli.json("image", "list", "--long")
                      if i["Name"] == f"{server}-shelved"]
    admin_cli.run("server", "unshelve", "--wait", server)
    back = settled(admin_cli, server, "ACTIVE")
    left = [i for i in admin_cli.json("image", "list") if i["Name"] == f"{server}-shelved"]

    assert shelved["OS-EXT-SRV-ATTR:host"] is None
    assert len(shelved_images) == 1
    assert back["OS-EXT-SRV-ATTR:host"].startswith("fake-")
    assert left == []
    assert events(admin_cli, server, "shelve") == {
        "compute_shelve_instance": "Success", "compute_shelve_offload_instance": "Success"}
    assert events(admin_cli, server, "unshelve") == {
        "conductor_unshelve_instance": "Success", "compute_unshelve_instance": "Success"}
    admin_cli.run("server", "delete", "--wait", server)
