"""Real namespaces for the dataplane tests: each test gets its own state directory (and so its
own host namespace) and must leave no namespace and no dnsmasq behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.dataplane import dhcp, ip, names, router

TOOLS = ("ip", "dnsmasq", "iptables-restore", "nft", "conntrack", "busybox", "ping")
MISSING = [t for t in TOOLS if shutil.which(t) is None]

skip_unless_root = pytest.mark.skipif(
    os.geteuid() != 0 or bool(MISSING),
    reason=f"needs root and {', '.join(TOOLS)} (missing: {', '.join(MISSING) or 'none'})")

# busybox udhcpc's script: print what the lease says instead of configuring anything.
UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] && echo "LEASE ip=$ip mask=$mask router=$router mtu=$mtu dns=$dns"
exit 0
"""


class FakeGuest:
    """A namespace standing in for a guest on compute host `host`: a veth whose outer end
    is that host's tap name for the port on the network's bridge (a real tap passes nothing
    without a reader)."""

    def __init__(self, host_ns: str, port_id: str, mac: str, host: str = "node1") -> None:
        self.host_ns = host_ns
        self.port_id = port_id
        self.mac = mac
        self.host = host
        self.netns = f"dpguest-{uuid.uuid4().hex[:8]}"

    async def attach(self, network_id: str, mtu: int = 1500) -> None:
        from nimbus.dataplane import vif
        await ip.ensure_netns(self.netns)
        bridge = await vif.ensure_bridge(self.host_ns, network_id, mtu)
        tap = names.guest_tap(self.port_id, self.host)
        await ip.run("link", "add", tap, "mtu", str(mtu), "type", "veth", "peer", "name", "eth0",
                     "netns", self.netns, netns=self.host_ns)
        await ip.run("link", "set", tap, "master", bridge, "up", netns=self.host_ns)
        await ip.run("link", "set", "eth0", "address", self.mac, "up", netns=self.netns)

    async def dhcp_lease(self, script: Path) -> dict[str, str]:
        out = await ip.exec_in(self.netns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n",
                               "-t", "10", "-T", "2", "-O", "mtu", "-s", str(script))
        line = next(x for x in out.splitlines() if x.startswith("LEASE "))
        return dict(part.split("=", 1) for part in line.split()[1:])


def pings(netns: str, address: str) -> bool:
    probe = subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address],
                           capture_output=True)
    return probe.returncode == 0


def dnsmasq_pids(state_dir: Path) -> list[int]:
    """Processes running for this state directory; an exited one not yet reaped (dnsmasq
    daemonizes, so init reaps it) has an empty cmdline and does not count."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(state_dir).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def udhcpc_script(tmp_path: Path) -> Path:
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    return script


@pytest.fixture
async def host_ns(state_dir: Path) -> AsyncIterator[str]:
    """The test's host namespace; afterwards its DHCP, guests and namespaces must all be gone."""
    name = names.host_namespace(state_dir)
    try:
        yield name
    finally:
        for network_id in dhcp.enabled_networks(state_dir):
            await dhcp.disable(state_dir, network_id)
        for router_id in router.enabled_routers(state_dir):
            await router.disable(state_dir, router_id)
        await ip.delete_netns(name)
        assert not ip.netns_exists(name)
        assert dnsmasq_pids(state_dir) == []


@pytest.fixture
async def guests(host_ns: str) -> AsyncIterator[list[FakeGuest]]:
    made: list[FakeGuest] = []
    try:
        yield made
    finally:
        for guest in made:
            await ip.delete_netns(guest.netns)
