"""A router, as Neutron's L3 agent builds one: a namespace `qrouter-<router>` with a leg
(`qr-<port>`) on each internal network's bridge holding the subnet's gateway address, a leg
(`qg-<port>`) on the external network's bridge, forwarding on, and NAT (nftables) for SNAT
through the gateway address and for floating IPs.

    await enable(state_dir, host_ns, RouterSpec(...))
    await disable(state_dir, router_id)

`<state_dir>/routers/<router_id>/` marks the router as this cloud's, as for DHCP.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from nimbus.dataplane import ip, names, vif

NFT_TABLE = "nimbus"


@dataclasses.dataclass(frozen=True)
class RouterPort:
    port_id: str
    network_id: str
    mac: str
    mtu: int
    addresses: tuple[str, ...]  # with prefix length


@dataclasses.dataclass(frozen=True)
class FloatingIp:
    floating_ip: str
    fixed_ip: str


@dataclasses.dataclass(frozen=True)
class RouterSpec:
    router_id: str
    interfaces: tuple[RouterPort, ...]
    internal_cidrs: tuple[str, ...] = ()
    gateway: RouterPort | None = None
    gateway_nexthop: str | None = None
    snat: bool = True
    floating_ips: tuple[FloatingIp, ...] = ()


def state_root(state_dir: Path) -> Path:
    return state_dir / "routers"


def enabled_routers(state_dir: Path) -> list[str]:
    root = state_root(state_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def render_nat(spec: RouterSpec) -> str:
    """The router's NAT table; loading it replaces the previous one in one transaction."""
    pre: list[str] = []
    post: list[str] = []
    if spec.gateway is not None:
        qg = names.router_gateway(spec.gateway.port_id)
        for fip in spec.floating_ips:
            pre.append(f"ip daddr {fip.floating_ip} dnat to {fip.fixed_ip}")
            post.append(f'oifname "{qg}" ip saddr {fip.fixed_ip} snat to {fip.floating_ip}')
        gateway_ip = next((a.split("/")[0] for a in spec.gateway.addresses), None)
        if spec.snat and gateway_ip and spec.internal_cidrs:
            cidrs = ", ".join(spec.internal_cidrs)
            post.append(f'oifname "{qg}" ip saddr {{ {cidrs} }} snat to {gateway_ip}')
    return "\n".join([
        f"table ip {NFT_TABLE}", f"delete table ip {NFT_TABLE}", f"table ip {NFT_TABLE} {{",
        "  chain prerouting {", "    type nat hook prerouting priority -100; policy accept;",
        *(f"    {r}" for r in pre), "  }",
        "  chain output {", "    type nat hook output priority -100; policy accept;",
        *(f"    {r}" for r in pre), "  }",
        "  chain postrouting {", "    type nat hook postrouting priority 100; policy accept;",
        *(f"    {r}" for r in post), "  }", "}"]) + "\n"


async def enable(state_dir: Path, host_ns: str, spec: RouterSpec) -> None:
    """The router's namespace, legs, default route and NAT as `spec` says. Idempotent;
    legs no longer wanted are removed."""
    (state_root(state_dir) / spec.router_id).mkdir(parents=True, exist_ok=True)
    netns = names.router_namespace(spec.router_id)
    if await ip.ensure_netns(netns):
        await ip.set_sysctl(netns, "net.ipv4.ip_forward", "1")
    legs = {names.router_interface(p.port_id): p for p in spec.interfaces}
    floating = tuple(f"{f.floating_ip}/32" for f in spec.floating_ips)
    if spec.gateway is not None:
        legs[names.router_gateway(spec.gateway.port_id)] = dataclasses.replace(
            spec.gateway, addresses=spec.gateway.addresses + floating)
    for name, leg in legs.items():
        await vif.plug_namespace_port(host_ns, netns, leg.network_id, leg.port_id, name,
                                      mac=leg.mac, mtu=leg.mtu, addresses=leg.addresses)
    for name in await ip.links(netns):
        if name.startswith(("qr-", "qg-")) and name not in legs:
            await ip.delete_link(netns, name)  # its veth peer on the bridge goes with it
    if spec.gateway is not None and spec.gateway_nexthop:
        await ip.run("route", "replace", "default", "via", spec.gateway_nexthop, "dev",
                     names.router_gateway(spec.gateway.port_id), netns=netns)
    await ip.exec_in(netns, "nft", "-f", "-", stdin=render_nat(spec))


async def disable(state_dir: Path, router_id: str) -> None:
    """Remove the router's namespace (and so its legs) and its marker. Idempotent."""
    await ip.delete_netns(names.router_namespace(router_id))
    shutil.rmtree(state_root(state_dir) / router_id, ignore_errors=True)
