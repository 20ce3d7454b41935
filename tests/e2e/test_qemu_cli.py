"""A real guest through the real CLI: `make up` with its QEMU host only, the test guest image it
offers, and a server's life from create to delete (its QEMU killed from outside on the way)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import Cli, RunningCloud, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.qemu, pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")]

# Under TCG on a loaded 2-core machine a boot takes 5-30 s; the first start builds the image.
BOOT_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def qemu_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = RunningCloud(port=free_port(), state_dir=tmp_path_factory.mktemp("e2e-qemu") / "state",
                         env={"NIMBUS_QEMU_HOST": "on", "NIMBUS_FAKE_HOSTS": "0"},
                         start_timeout=600.0)
    cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()
        # Guests outlive the cloud by design; a failed test must not leave its own behind.
        for pid in qemu_pids(cloud.state_dir):
            os.kill(pid, signal.SIGKILL)


def wait_until(what: str, check: Callable[[], bool], timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(1.0)


def qemu_pids(state_dir: Path) -> list[int]:
    """Live QEMU processes whose command line names this cloud's state directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if b"qemu-system" in cmdline and str(state_dir).encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def test_qemu_server_lifecycle_through_the_cli(qemu_cloud: RunningCloud) -> None:
    cli = Cli(qemu_cloud.cli_env)
    image = cli.json("image", "show", "nimbus-guest")
    assert (image["status"], image["disk_format"], image["container_format"]) == ("active", "qcow2", "bare")

    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--nic", "none", "--wait", "e2e-qemu-vm")
    assert server["status"] == "ACTIVE", server
    sid = server["id"]
    console = lambda: cli.run("console", "log", "show", sid).stdout  # noqa: E731
    wait_until("login marker", lambda: LOGIN_MARKER in console())
    assert "config drive /dev/sr0: hostname e2e-qemu-vm" in console()

    cli.run("server", "stop", sid)
    wait_until("SHUTOFF", lambda: cli.json("server", "show", sid)["status"] == "SHUTOFF", 120)
    assert qemu_pids(qemu_cloud.state_dir) == []
    cli.run("server", "start", sid)
    wait_until("ACTIVE", lambda: cli.json("server", "show", sid)["status"] == "ACTIVE", 120)

    # Killed behind the cloud's back: the agent's power-state sync (at its restart here) sees it.
    [pid] = qemu_pids(qemu_cloud.state_dir)
    os.kill(pid, signal.SIGKILL)
    qemu_cloud.restart()
    shown = cli.json("server", "show", sid)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    cli.run("server", "start", sid)
    wait_until("ACTIVE", lambda: cli.json("server", "show", sid)["status"] == "ACTIVE", 120)
    assert len(qemu_pids(qemu_cloud.state_dir)) == 1

    cli.run("server", "delete", "--wait", sid)
    assert qemu_pids(qemu_cloud.state_dir) == []
    instances = qemu_cloud.state_dir / "qemu"
    assert [p for p in instances.glob("*/instances/*")] == []


def test_qemu_server_on_a_network_gets_its_address_by_dhcp(qemu_cloud: RunningCloud) -> None:
    if "network agent: dataplane" not in "".join(qemu_cloud.output):
        pytest.skip("the cloud runs no dataplane here (its tools are missing)")
    cli = Cli(qemu_cloud.cli_env)
    net = cli.json("network", "create", "e2e-qemu-net")["id"]
    cli.run("subnet", "create", "e2e-qemu-subnet", "--network", net, "--subnet-range", "10.66.0.0/24")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net, "--wait", "e2e-qemu-net-vm")
    try:
        assert server["status"] == "ACTIVE", server
        [address] = cli.json("server", "show", server["id"])["addresses"]["e2e-qemu-net"]
        # The tap the network agent plugged is the guest's NIC: dnsmasq's lease reaches it.
        wait_until("DHCP address", lambda: f"address eth0 {address}/24" in cli.run(
            "console", "log", "show", server["id"]).stdout)
    finally:
        cli.run("server", "delete", "--wait", server["id"])
        cli.run("network", "delete", net)
    assert qemu_pids(qemu_cloud.state_dir) == []
