"""From the network service's resources to the dataplane they call for; pure functions.

    snap = Snapshot(networks, subnets, ports, rules, routers, floating_ips)   # REST dicts
    filters = port_filters(snap)
    wanted = dhcp_networks(snap)       # network id -> DhcpNetwork (or None: port missing)
    specs = routers(snap)              # router id -> RouterSpec
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import defaultdict
from typing import Any

from nimbus.dataplane.dhcp import DhcpHost, DhcpNetwork, DhcpSubnet
from nimbus.dataplane.firewall import PortFilter, Rule
from nimbus.dataplane.router import FloatingIp, RouterPort, RouterSpec

DHCP_OWNER = "network:dhcp"
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
Resource = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Snapshot:
    networks: list[Resource]
    subnets: list[Resource]
    ports: list[Resource]
    security_group_rules: list[Resource]
    routers: list[Resource] = dataclasses.field(default_factory=list)
    floating_ips: list[Resource] = dataclasses.field(default_factory=list)


def _v4(address: str) -> bool:
    try:
        return ipaddress.ip_network(address, strict=False).version == 4
    except ValueError:
        return False


def _fixed_v4(port: Resource) -> list[str]:
    return [f["ip_address"] for f in port.get("fixed_ips", []) if _v4(f["ip_address"])]


def _trusted(port: Resource) -> bool:
    """The cloud's own ports (DHCP, router interfaces) are not filtered, as in Neutron."""
    return str(port.get("device_owner") or "").startswith("network:")


def port_filters(snap: Snapshot) -> list[PortFilter]:
    """Every port's filter: its addresses, and its groups' IPv4 rules with remote groups
    expanded to their members' addresses."""
    members: dict[str, list[str]] = defaultdict(list)
    for port in snap.ports:
        for group in port.get("security_groups", []):
            members[group].extend(_fixed_v4(port))
    rules_of: dict[str, list[Rule]] = defaultdict(list)
    for r in snap.security_group_rules:
        if r.get("ethertype", "IPv4") != "IPv4":
            continue
        remote: tuple[str, ...] | None = None
        if r.get("remote_group_id"):
            remote = tuple(sorted(set(members.get(r["remote_group_id"], []))))
        elif r.get("remote_ip_prefix"):
            remote = (r["remote_ip_prefix"],)
        elif r.get("remote_address_group_id"):
            remote = ()  # address groups are not served by this dataplane: match no one
        rules_of[r["security_group_id"]].append(Rule(
            r["direction"], r.get("protocol"), r.get("port_range_min"), r.get("port_range_max"),
            remote))
    filters = []
    for port in sorted(snap.ports, key=lambda p: p["id"]):
        pairs = port.get("allowed_address_pairs") or []
        secured = bool(port.get("port_security_enabled", True)) and not _trusted(port)
        rules = tuple(rule for group in sorted(port.get("security_groups", []))
                      for rule in rules_of.get(group, []))
        filters.append(PortFilter(
            port["id"],
            macs=tuple(dict.fromkeys([port["mac_address"],
                                      *(p["mac_address"] for p in pairs if p.get("mac_address"))])),
            ips=tuple(dict.fromkeys([*_fixed_v4(port),
                                     *(p["ip_address"] for p in pairs if _v4(p["ip_address"]))])),
            secured=secured, rules=rules))
    return filters


def _dhcp_subnets(snap: Snapshot, network_id: str) -> list[Resource]:
    return [s for s in snap.subnets if s["network_id"] == network_id and s.get("enable_dhcp")
            and s.get("ip_version") == 4]


def networks_needing_dhcp(snap: Snapshot) -> list[Resource]:
    """Networks with a DHCP-enabled IPv4 subnet and a port someone uses (not the cloud's)."""
    used = {p["network_id"] for p in snap.ports if not _trusted(p)}
    return [n for n in snap.networks if n["id"] in used and _dhcp_subnets(snap, n["id"])]


def dhcp_port(snap: Snapshot, network_id: str) -> Resource | None:
    found = [p for p in snap.ports if p["network_id"] == network_id
             and p.get("device_owner") == DHCP_OWNER]
    return min(found, key=lambda p: p["id"]) if found else None


def dhcp_port_request(snap: Snapshot, network: Resource, device_id: str) -> Resource:
    """The body of the DHCP port the network lacks: one address on each DHCP subnet."""
    return {"network_id": network["id"], "project_id": network["project_id"],
            "device_owner": DHCP_OWNER, "device_id": device_id,
            "fixed_ips": [{"subnet_id": s["id"]} for s in _dhcp_subnets(snap, network["id"])]}


def dhcp_networks(snap: Snapshot) -> dict[str, DhcpNetwork | None]:
    """What each network needing DHCP should serve; None where its DHCP port is missing."""
    wanted: dict[str, DhcpNetwork | None] = {}
    for network in networks_needing_dhcp(snap):
        subnets = {s["id"]: s for s in _dhcp_subnets(snap, network["id"])}
        port = dhcp_port(snap, network["id"])
        if port is None:
            wanted[network["id"]] = None
            continue
        port_ips = tuple(
            f"{f['ip_address']}/{ipaddress.ip_network(subnets[f['subnet_id']]['cidr']).prefixlen}"
            for f in port.get("fixed_ips", []) if f.get("subnet_id") in subnets)
        hosts = tuple(sorted(
            (DhcpHost(p["mac_address"], f["ip_address"]) for p in snap.ports
             if p["network_id"] == network["id"] and p["id"] != port["id"]
             for f in p.get("fixed_ips", []) if f.get("subnet_id") in subnets),
            key=lambda h: (h.ip, h.mac)))
        wanted[network["id"]] = DhcpNetwork(
            network_id=network["id"], mtu=int(network.get("mtu") or 1500), port_id=port["id"],
            port_mac=port["mac_address"], port_ips=port_ips,
            subnets=tuple(DhcpSubnet(
                s["id"], s["cidr"], s.get("gateway_ip"), tuple(s.get("dns_nameservers") or ()),
                tuple((r["destination"], r["nexthop"]) for r in s.get("host_routes") or ()))
                for s in sorted(subnets.values(), key=lambda s: s["id"])),
            hosts=hosts)
    return wanted


def _router_port(snap: Snapshot, port: Resource) -> RouterPort:
    subnets = {s["id"]: s for s in snap.subnets}
    network = next((n for n in snap.networks if n["id"] == port["network_id"]), {})
    addresses = tuple(
        f"{f['ip_address']}/{ipaddress.ip_network(subnets[f['subnet_id']]['cidr']).prefixlen}"
        for f in port.get("fixed_ips", [])
        if f.get("subnet_id") in subnets and _v4(f["ip_address"]))
    return RouterPort(port["id"], port["network_id"], port["mac_address"],
                      int(network.get("mtu") or 1500), addresses)


def routers(snap: Snapshot) -> dict[str, RouterSpec]:
    """Each router's legs (its interface and gateway ports), SNAT and floating IPs."""
    subnets = {s["id"]: s for s in snap.subnets}
    specs = {}
    for router in snap.routers:
        mine = [p for p in snap.ports if p.get("device_id") == router["id"]]
        interfaces = tuple(_router_port(snap, p) for p in sorted(mine, key=lambda p: p["id"])
                           if p.get("device_owner") == ROUTER_INTERFACE)
        gateway_port = next((p for p in mine if p.get("device_owner") == ROUTER_GATEWAY), None)
        cidrs = tuple(sorted({subnets[f["subnet_id"]]["cidr"] for p in mine
                              if p.get("device_owner") == ROUTER_INTERFACE
                              for f in p.get("fixed_ips", []) if f.get("subnet_id") in subnets
                              and subnets[f["subnet_id"]].get("ip_version") == 4}))
        nexthop = None
        if gateway_port is not None:
            nexthop = next((subnets[f["subnet_id"]].get("gateway_ip")
                            for f in gateway_port.get("fixed_ips", [])
                            if f.get("subnet_id") in subnets and _v4(f["ip_address"])), None)
        floating = tuple(sorted(
            (FloatingIp(f["floating_ip_address"], f["fixed_ip_address"])
             for f in snap.floating_ips
             if f.get("router_id") == router["id"] and f.get("fixed_ip_address")),
            key=lambda f: f.floating_ip))
        specs[router["id"]] = RouterSpec(
            router["id"], interfaces, cidrs,
            _router_port(snap, gateway_port) if gateway_port is not None else None, nexthop,
            bool((router.get("external_gateway_info") or {}).get("enable_snat", True)), floating)
    return specs
