"""Plugging a guest's port into the host namespace, as os-vif's Linux-bridge plug does.

    netns, tap = await plug_vif(host_ns, network_id, port_id, host="node1", mtu=1450)
    # QEMU runs in `netns` and opens `tap` by name (-netdev tap,ifname=tap,script=no)
    await unplug_vif(host_ns, port_id, host="node1")

The bridge is made on first use with the network's MTU, and passes its IPv4 frames to
iptables (the bridge's own nf_call_iptables switch, so neither the host nor other namespaces
change): security groups need conntrack, which this kernel's bridge family lacks. Until the
network agent has written a port's filter, the baseline filter drops everything to and from
its tap. Each compute host plugs a tap of its own for a port (names.guest_tap), so the hosts
of one cloud on one machine never touch each other's: a migration's source and destination
both hold one.
"""

from __future__ import annotations

import json

from nimbus.dataplane import firewall, ip, names


async def ensure_host_namespace(host_ns: str) -> None:
    """The cloud's host namespace, with at least the baseline filter. Idempotent."""
    await ip.ensure_netns(host_ns)
    await firewall.ensure_baseline(host_ns)


async def ensure_bridge(host_ns: str, network_id: str, mtu: int) -> str:
    """The network's bridge, up, at `mtu`. Idempotent; returns its name."""
    name = names.bridge(network_id)
    found = (await ip.links(host_ns)).get(name)
    if found is None:
        try:
            await ip.run("link", "add", name, "mtu", str(mtu), "type", "bridge",
                         "nf_call_iptables", "1", netns=host_ns)
        except ip.CommandFailed:
            if name not in await ip.links(host_ns):
                raise
    elif found.get("mtu") != mtu:
        await ip.run("link", "set", name, "mtu", str(mtu), netns=host_ns)
    await ip.run("link", "set", name, "up", netns=host_ns)
    return name


async def plug_vif(host_ns: str, network_id: str, port_id: str, *, host: str,
                   mtu: int) -> tuple[str, str]:
    """Compute host `host`'s persistent tap for the port on its network's bridge, up.
    Idempotent.

    Returns (namespace, tap): the guest's process must run in that namespace to open the tap.
    """
    await ensure_host_namespace(host_ns)
    bridge = await ensure_bridge(host_ns, network_id, mtu)
    tap = names.guest_tap(port_id, host)
    if tap not in await ip.links(host_ns):
        try:
            await ip.run("tuntap", "add", "dev", tap, "mode", "tap", netns=host_ns)
        except ip.CommandFailed:
            if tap not in await ip.links(host_ns):
                raise
    await ip.run("link", "set", tap, "mtu", str(mtu), "master", bridge, "up", netns=host_ns)
    return host_ns, tap


async def plug_namespace_port(host_ns: str, netns: str, network_id: str, port_id: str,
                              inner: str, *, mac: str, mtu: int,
                              addresses: tuple[str, ...]) -> bool:
    """A port of the cloud's own (DHCP, router) as a veth: `tap<port>` on the network's
    bridge, `inner` in `netns` with the port's MAC and exactly `addresses` (with prefix
    lengths). Idempotent; `netns` must exist. True if the veth was made now."""
    bridge = await ensure_bridge(host_ns, network_id, mtu)
    outer = names.tap(port_id)
    # Either half alone is a leftover (an earlier attempt, or a host namespace that went and
    # whose pair the kernel has not reaped yet): make the pair again.
    created = inner not in await ip.links(netns) or outer not in await ip.links(host_ns)
    if created:
        await ip.delete_link(host_ns, outer)
        await ip.delete_link(netns, inner)
        await ip.run("link", "add", outer, "mtu", str(mtu), "type", "veth", "peer", "name",
                     inner, "netns", netns, netns=host_ns)
    await ip.run("link", "set", outer, "mtu", str(mtu), "master", bridge, "up", netns=host_ns)
    await ip.run("link", "set", inner, "address", mac, "mtu", str(mtu), "up", netns=netns)
    shown = json.loads(await ip.run("-j", "addr", "show", "dev", inner, netns=netns) or "[]")
    have = {f"{a['local']}/{a['prefixlen']}" for link in shown for a in link.get("addr_info", [])
            if a.get("family") == "inet"}
    for extra in have - set(addresses):
        await ip.run("addr", "del", extra, "dev", inner, netns=netns)
    for missing in set(addresses) - have:
        await ip.run("addr", "add", missing, "dev", inner, netns=netns)
    return created


async def unplug_vif(host_ns: str, port_id: str, *, host: str) -> None:
    """Remove compute host `host`'s tap of the port (another host's stays). Idempotent: a
    tap or namespace already gone is fine."""
    await ip.delete_link(host_ns, names.guest_tap(port_id, host))


async def delete_bridge(host_ns: str, network_id: str) -> None:
    """Remove a network's bridge (its taps are released from it, not deleted). Idempotent."""
    await ip.delete_link(host_ns, names.bridge(network_id))
