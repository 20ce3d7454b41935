"""The Linux dataplane against the real kernel: taps, bridges, dnsmasq leases, security groups.

A veth namespace stands in for the guest (see FakeGuest); everything lives in namespaces the
test makes, and the fixtures check that nothing is left.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest

from nimbus.dataplane import dhcp, firewall, ip, names, vif
from nimbus.dataplane.firewall import PortFilter, Rule
from tests.integration.dataplane.conftest import FakeGuest, dnsmasq_pids, pings, skip_unless_root

pytestmark = [pytest.mark.dataplane, skip_unless_root]

CIDR = "10.98.0.0/24"
GUEST_MAC = "fa:16:3e:00:00:10"
GUEST_IP = "10.98.0.10"
DHCP_MAC = "fa:16:3e:00:00:02"
DHCP_IP = "10.98.0.2"


def ids() -> tuple[str, str, str, str]:
    return tuple(str(uuid.uuid4()) for _ in range(4))  # type: ignore[return-value]


async def test_plug_vif_makes_a_tap_on_the_bridge_and_unplug_removes_it(host_ns: str) -> None:
    network_id, port_id, _, _ = ids()
    netns, tap = await vif.plug_vif(host_ns, network_id, port_id, host="node1", mtu=1450)
    assert (netns, tap) == (host_ns, names.guest_tap(port_id, "node1"))
    assert len(tap) <= 15 and tap.startswith(names.port_taps(port_id))
    # Again: idempotent, same answer.
    assert await vif.plug_vif(host_ns, network_id, port_id, host="node1", mtu=1450) == (netns, tap)
    links = await ip.links(host_ns)
    assert links[tap]["master"] == names.bridge(network_id)
    assert links[tap]["mtu"] == 1450
    assert links[names.bridge(network_id)]["mtu"] == 1450
    assert links[tap]["linkinfo"]["info_kind"] == "tun"
    await vif.unplug_vif(host_ns, port_id, host="node1")
    await vif.unplug_vif(host_ns, port_id, host="node1")
    assert tap not in await ip.links(host_ns)


async def test_two_hosts_plug_the_same_port_each_its_own_tap(host_ns: str) -> None:
    """A migration between two hosts on one machine: both hold a tap of the port at once, and
    the source's unplug leaves the destination's."""
    network_id, port_id, _, _ = ids()
    _, source = await vif.plug_vif(host_ns, network_id, port_id, host="box", mtu=1500)
    _, dest = await vif.plug_vif(host_ns, network_id, port_id, host="box-2", mtu=1500)
    assert source != dest
    links = await ip.links(host_ns)
    assert links[source]["master"] == links[dest]["master"] == names.bridge(network_id)
    await vif.unplug_vif(host_ns, port_id, host="box")
    links = await ip.links(host_ns)
    assert source not in links and links[dest]["master"] == names.bridge(network_id)
    await vif.unplug_vif(host_ns, port_id, host="box-2")
    assert dest not in await ip.links(host_ns)


def dhcp_network(network_id: str, dhcp_port: str, subnet_id: str,
                 hosts: tuple[dhcp.DhcpHost, ...]) -> dhcp.DhcpNetwork:
    return dhcp.DhcpNetwork(
        network_id=network_id, mtu=1450, port_id=dhcp_port, port_mac=DHCP_MAC,
        port_ips=(f"{DHCP_IP}/24",),
        subnets=(dhcp.DhcpSubnet(subnet_id, CIDR, gateway_ip="10.98.0.1",
                                 dns_nameservers=("10.98.0.53",)),),
        hosts=hosts)


def filters(guest_port: str, dhcp_port: str, *rules: Rule) -> list[PortFilter]:
    return [PortFilter(dhcp_port, macs=(DHCP_MAC,), ips=(DHCP_IP,), secured=False),
            PortFilter(guest_port, macs=(GUEST_MAC,), ips=(GUEST_IP,),
                       rules=(Rule("egress"), *rules))]


async def test_guest_leases_its_fixed_ip_and_security_groups_decide_ping(
        state_dir: Path, host_ns: str, guests: list[FakeGuest], udhcpc_script: Path) -> None:
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port))
    guest = FakeGuest(host_ns, guest_port, GUEST_MAC)
    guests.append(guest)
    await guest.attach(network_id, mtu=1450)
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id,
                                                       (dhcp.DhcpHost(GUEST_MAC, GUEST_IP),)))

    lease = await guest.dhcp_lease(udhcpc_script)
    assert lease["ip"] == GUEST_IP
    assert lease["router"] == "10.98.0.1"
    assert lease["mtu"] == "1450"
    assert lease["dns"] == "10.98.0.53"

    await ip.run("addr", "add", f"{GUEST_IP}/24", "dev", "eth0", netns=guest.netns)
    qdhcp = names.dhcp_namespace(network_id)
    # Egress is open, so the guest's own ping out gets its reply back (stateful).
    assert pings(guest.netns, DHCP_IP)
    # No ingress rule: the DHCP namespace cannot ping the guest...
    assert not pings(qdhcp, GUEST_IP)
    # ...until an ingress ICMP rule says so.
    await firewall.apply(host_ns, filters(guest_port, dhcp_port, Rule("ingress", "icmp")))
    assert pings(qdhcp, GUEST_IP)
    # A rule for another source does not open it.
    await firewall.apply(host_ns, filters(guest_port, dhcp_port,
                                          Rule("ingress", "icmp", remote_ips=("10.98.0.77",))))
    assert not pings(qdhcp, GUEST_IP)


async def test_the_ports_filter_holds_on_every_hosts_tap(
        state_dir: Path, host_ns: str, guests: list[FakeGuest]) -> None:
    """The port's guest on a second host (a migration's destination) gets the same filter
    from the same rules: its own address passes, a spoofed one does not, ingress as allowed."""
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port, Rule("ingress", "icmp")))
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id, ()))
    for host in ("box", "box-2"):
        guest = FakeGuest(host_ns, guest_port, GUEST_MAC, host=host)
        guests.append(guest)
        await guest.attach(network_id)
        await ip.run("addr", "add", "10.98.0.99/24", "dev", "eth0", netns=guest.netns)
        assert not pings(guest.netns, DHCP_IP)
        await ip.run("addr", "flush", "dev", "eth0", netns=guest.netns)
        await ip.run("addr", "add", f"{GUEST_IP}/24", "dev", "eth0", netns=guest.netns)
        assert pings(guest.netns, DHCP_IP)
        assert pings(names.dhcp_namespace(network_id), GUEST_IP)
        await ip.run("link", "set", "eth0", "down", netns=guest.netns)


async def test_guest_cannot_spoof_its_address(
        state_dir: Path, host_ns: str, guests: list[FakeGuest]) -> None:
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port, Rule("ingress")))
    guest = FakeGuest(host_ns, guest_port, GUEST_MAC)
    guests.append(guest)
    await guest.attach(network_id)
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id, ()))
    await ip.run("addr", "add", "10.98.0.99/24", "dev", "eth0", netns=guest.netns)
    assert not pings(guest.netns, DHCP_IP)
    await ip.run("addr", "flush", "dev", "eth0", netns=guest.netns)
    await ip.run("addr", "add", f"{GUEST_IP}/24", "dev", "eth0", netns=guest.netns)
    assert pings(guest.netns, DHCP_IP)
    # Another MAC with the right IP is refused too.
    await ip.run("link", "set", "eth0", "address", "fa:16:3e:00:00:99", netns=guest.netns)
    await ip.exec_in(guest.netns, "ip", "neigh", "flush", "all")
    assert not pings(guest.netns, DHCP_IP)


async def test_unknown_tap_passes_nothing(
        state_dir: Path, host_ns: str, guests: list[FakeGuest]) -> None:
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)  # the baseline filter only
    await firewall.apply(host_ns, filters(str(uuid.uuid4()), dhcp_port))
    guest = FakeGuest(host_ns, guest_port, GUEST_MAC)
    guests.append(guest)
    await guest.attach(network_id)
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id, ()))
    await ip.run("addr", "add", f"{GUEST_IP}/24", "dev", "eth0", netns=guest.netns)
    assert not pings(guest.netns, DHCP_IP)
    assert not pings(names.dhcp_namespace(network_id), GUEST_IP)


async def test_dhcp_reloads_hosts_and_disable_leaves_nothing(
        state_dir: Path, host_ns: str, guests: list[FakeGuest], udhcpc_script: Path) -> None:
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port))
    guest = FakeGuest(host_ns, guest_port, GUEST_MAC)
    guests.append(guest)
    await guest.attach(network_id)
    net = dhcp_network(network_id, dhcp_port, subnet_id, ())
    await dhcp.enable(state_dir, host_ns, net)
    pid = (state_dir / "dhcp" / network_id / "pid").read_text().strip()
    # The port arrives after dnsmasq started: a SIGHUP, not a restart, serves it.
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id,
                                                       (dhcp.DhcpHost(GUEST_MAC, GUEST_IP),)))
    assert (state_dir / "dhcp" / network_id / "pid").read_text().strip() == pid
    assert (await guest.dhcp_lease(udhcpc_script))["ip"] == GUEST_IP
    await dhcp.disable(state_dir, network_id)
    await dhcp.disable(state_dir, network_id)
    assert not ip.netns_exists(names.dhcp_namespace(network_id))
    assert dhcp.enabled_networks(state_dir) == []
    assert dnsmasq_pids(state_dir) == []


async def test_removing_a_rule_cuts_the_flow_it_let_in(
        state_dir: Path, host_ns: str, guests: list[FakeGuest]) -> None:
    network_id, guest_port, dhcp_port, subnet_id = ids()
    await vif.ensure_host_namespace(host_ns)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port, Rule("ingress", "icmp")))
    guest = FakeGuest(host_ns, guest_port, GUEST_MAC)
    guests.append(guest)
    await guest.attach(network_id)
    await dhcp.enable(state_dir, host_ns, dhcp_network(network_id, dhcp_port, subnet_id, ()))
    await ip.run("addr", "add", f"{GUEST_IP}/24", "dev", "eth0", netns=guest.netns)
    assert pings(names.dhcp_namespace(network_id), GUEST_IP)
    # One ping process is one tracked ICMP flow: its echoes go on being "established".
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", names.dhcp_namespace(network_id), "ping", "-n", "-i", "0.2",
        "-c", "30", "-W", "1", GUEST_IP, stdout=asyncio.subprocess.PIPE)
    await asyncio.sleep(2.0)
    await firewall.apply(host_ns, filters(guest_port, dhcp_port), forget=(GUEST_IP,))
    out, _ = await proc.communicate()
    received = int(re.search(rb"(\d+) received", out).group(1))  # type: ignore[union-attr]
    assert 0 < received < 25, out
