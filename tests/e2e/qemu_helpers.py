"""Shared steps of the QEMU end-to-end tests: their marks, polling, what the dataplane shows,
one guest as the CLI sees it, and what each QEMU host of a two-host cloud holds of it."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from nimbus.dataplane import host as dataplane_host
from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import Cli, RunningCloud

# Each QEMU e2e module's pytestmark.
QEMU_DATAPLANE_MARKS = [pytest.mark.e2e, pytest.mark.qemu, pytest.mark.dataplane,
                        pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None
                                           or bool(dataplane_host.missing()),
                                           reason="needs qemu-system-x86_64, root, ip, dnsmasq, "
                                                  "iptables, nft")]

# Under TCG on a loaded 2-core machine a boot takes 5-60 s; the first start builds the image.
BOOT_TIMEOUT = 240.0


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


class Hosts:
    """What each QEMU host of the cloud holds of one guest, read from its state directory."""

    def __init__(self, cloud: RunningCloud, server_id: str) -> None:
        self.root, self.id = cloud.state_dir / "qemu", server_id

    def console(self, host: str) -> str:
        path = self.root / host / "instances" / self.id / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def boots(self, host: str) -> int:
        return self.console(host).count(LOGIN_MARKER)

    def kept(self, host: str) -> Path:
        return self.root / host / "resize" / self.id


def two_hosts_and_network(cloud: RunningCloud, prefix: str,
                          cidr: str) -> tuple[Cli, list[str], str, str]:
    """The admin CLI, the cloud's two QEMU hosts (sorted), and a new network with a `cidr`
    subnet: its name and id."""
    if "network agent: dataplane" not in "".join(cloud.output):
        pytest.fail("the cloud runs no dataplane though its tools are here")
    cli = Cli(cloud.cli_env)
    hosts = sorted(h["Host"] for h in cli.json("compute", "service", "list",
                                               "--service", "nova-compute"))
    net_name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    net = cli.json("network", "create", net_name)["id"]
    cli.json("subnet", "create", "--network", net, "--subnet-range", cidr, f"{net_name}-v4")
    return cli, hosts, net_name, net
