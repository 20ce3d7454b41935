"""One real guest's whole life through the real CLI (issue 7's "done when"): `make up` with its
QEMU host and network agent; the guest gets its port's address from the network's dnsmasq,
answers ping from `qdhcp-<network>` once its security group lets ICMP in, goes through every
power action, a snapshot and a hot-plugged volume, survives its QEMU killed from outside, and
its delete leaves no process, tap, instance directory or namespace behind.

One guest on purpose: each TCG boot costs CI tens of seconds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from nimbus.dataplane import host as dataplane_host
from nimbus.dataplane import ip, names
from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import Cli, RunningCloud, qemu_cloud, qemu_pids
from tests.integration.dataplane.conftest import dnsmasq_pids

pytestmark = [pytest.mark.e2e, pytest.mark.qemu, pytest.mark.dataplane,
              pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None
                                 or bool(dataplane_host.missing()),
                                 reason="needs qemu-system-x86_64, root, ip, dnsmasq, iptables, nft")]

# Under TCG on a loaded 2-core machine a boot takes 5-60 s; the first start builds the image.
BOOT_TIMEOUT = 240.0


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with qemu_cloud(tmp_path_factory.mktemp("e2e-qemu") / "state") as running:
        yield running


def wait_until(what: str, check: Callable[[], bool], timeout: float = BOOT_TIMEOUT,
               explain: Callable[[], str] | None = None) -> None:
    """Poll `check` every second; on timeout fail, with what `explain` finds then."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s"
                        + (f"\n{explain()}" if explain is not None else ""))
        time.sleep(1.0)


def pings(netns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address],
                          capture_output=True).returncode == 0


def dataplane_state(host_ns: str, client_ns: str) -> str:
    """What the kernel shows of a guest's reachability: the bridges' forwarding tables, each
    link's packet counters, the client's neighbours and the tracked flows (for a failure)."""
    commands = [["bridge", "-n", host_ns, "fdb", "show"], ["ip", "-n", host_ns, "-s", "link"],
                ["ip", "-n", client_ns, "neigh"], ["ip", "netns", "exec", host_ns, "conntrack", "-L"],
                ["ip", "netns", "exec", host_ns, "nft", "list", "ruleset"]]
    return "\n".join(f"$ {' '.join(c)}\n" + subprocess.run(c, capture_output=True, text=True).stdout
                     for c in commands)


def links(netns: str) -> list[str]:
    shown = subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True)
    return [line.split(":")[1].strip().split("@")[0] for line in shown.stdout.splitlines()]


class Guest:
    """One server as the CLI sees it: its status and its serial console."""

    def __init__(self, cli: Cli, sid: str) -> None:
        self.cli, self.id = cli, sid

    def status(self) -> str:
        status: str = self.cli.json("server", "show", self.id)["status"]
        return status

    def wait_status(self, status: str, timeout: float = BOOT_TIMEOUT) -> None:
        wait_until(f"{status} of {self.id}", lambda: self.status() == status, timeout)

    def console(self) -> str:
        return self.cli.run("console", "log", "show", self.id).stdout

    def wait_console(self, line: str) -> None:
        wait_until(repr(line), lambda: line in self.console())

    def act(self, *action: str, status: str = "ACTIVE") -> None:
        """`openstack server <action> ... <id>`, then the status it leads to."""
        self.cli.run("server", *action, self.id)
        self.wait_status(status)

    def boot(self, *action: str) -> None:
        """An action that boots the guest again: ACTIVE, and a login marker newer than before."""
        before = self.console()
        self.act(*action)
        # The console log may or may not start afresh with a new QEMU: either way a new marker.
        wait_until("login marker after " + " ".join(action), lambda: new_marker(before, self.console()))


def new_marker(before: str, now: str) -> bool:
    """`now` shows a boot that `before`, an earlier read of the same console log, did not."""
    if now.startswith(before):
        return now.count(LOGIN_MARKER) > before.count(LOGIN_MARKER)
    return LOGIN_MARKER in now


def test_one_guest_from_network_to_delete(cloud: RunningCloud) -> None:
    if "network agent: dataplane" not in "".join(cloud.output):
        pytest.fail("the cloud runs no dataplane though its tools are here")
    cli = Cli(cloud.cli_env)
    net_name = f"private-{uuid.uuid4().hex[:6]}"
    net = cli.json("network", "create", net_name)["id"]
    cli.json("subnet", "create", "--network", net, "--subnet-range", "10.123.0.0/24", f"{net_name}-v4")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net_name, "--wait", "e2e-qemu-vm")
    assert server["status"] == "ACTIVE", server
    guest = Guest(cli, server["id"])
    [port] = cli.json("port", "list", "--server", guest.id)
    address = port["Fixed IP Addresses"][0]["ip_address"]

    # The tap the network agent plugged is the guest's NIC: dnsmasq's lease reaches it.
    guest.wait_console(LOGIN_MARKER)
    console = guest.console()
    assert f"nimbus-guest: address eth0 {address}/24" in console, console
    assert "config drive /dev/sr0: hostname e2e-qemu-vm" in console, console
    qdhcp = names.dhcp_namespace(net)
    assert not pings(qdhcp, address)  # the default group lets in only its own members
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    wait_until("ping from the DHCP namespace", lambda: pings(qdhcp, address), 60)

    guest.act("stop", status="SHUTOFF")
    assert qemu_pids(cloud.state_dir) == []
    guest.boot("start")
    guest.boot("reboot")
    guest.boot("reboot", "--hard")
    guest.act("pause", status="PAUSED")
    guest.act("unpause")
    guest.act("suspend", status="SUSPENDED")
    assert qemu_pids(cloud.state_dir) == []
    guest.act("resume")
    wait_until("ping after resume", lambda: pings(qdhcp, address), 60)

    image = cli.json("server", "image", "create", "--wait", "--name", "e2e-qemu-snap", guest.id)
    assert cli.json("image", "show", image["id"])["status"] == "active"

    volume = cli.json("volume", "create", "--size", "1", "e2e-qemu-vol")["id"]
    volume_status = lambda: cli.json("volume", "show", volume)["status"]  # noqa: E731
    wait_until("available volume", lambda: volume_status() == "available", 60)
    cli.run("server", "add", "volume", guest.id, volume)
    wait_until("volume in-use", lambda: volume_status() == "in-use", 60)
    guest.wait_console("nimbus-guest: block added vdb")
    cli.run("server", "remove", "volume", guest.id, volume)
    wait_until("volume available again", lambda: volume_status() == "available", 60)
    guest.wait_console("nimbus-guest: block removed vdb")

    # Killed behind the cloud's back: the agent's power-state sync (at its restart here) sees it.
    [pid] = qemu_pids(cloud.state_dir)
    os.kill(pid, signal.SIGKILL)
    cloud.restart()
    shown = cli.json("server", "show", guest.id)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    guest.boot("start")
    assert len(qemu_pids(cloud.state_dir)) == 1

    host_ns = names.host_namespace(cloud.state_dir)
    cli.run("server", "delete", "--wait", guest.id)
    assert qemu_pids(cloud.state_dir) == []
    assert not [tap for tap in links(host_ns) if tap.startswith(names.port_taps(port["ID"]))]
    assert list(cloud.state_dir.glob(f"qemu/*/instances/{guest.id}")) == []
    assert [p for p in cloud.state_dir.rglob("config.iso") if guest.id in str(p)] == []

    cli.run("volume", "delete", volume)
    cli.run("image", "delete", image["id"])
    cli.run("network", "delete", net)
    wait_until("DHCP namespace removed", lambda: not ip.netns_exists(qdhcp), 60)
    # No guest plugged in: a stopping cloud removes its whole dataplane.
    cloud.stop()
    assert not ip.netns_exists(host_ns)
    assert dnsmasq_pids(cloud.state_dir) == []
    assert list(cloud.state_dir.glob("qemu/*/instances/*")) == []
