"""Address arithmetic for subnets, after Neutron's ipam_utils: default gateways and pools,
pool validation, and the addresses a pool offers. Pure functions; no I/O."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from nimbus.network import errors

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def network(cidr: str) -> Network:
    return ipaddress.ip_network(cidr)


def address(ip: str) -> Address:
    return ipaddress.ip_address(ip)


def usable_range(net: Network) -> tuple[int, int]:
    """First and last address a port may hold: not the network address, nor IPv4 broadcast."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.num_addresses <= 2:
        return first, last
    return first + 1, last - (1 if net.version == 4 else 0)


def default_gateway(net: Network) -> str | None:
    first, last = usable_range(net)
    return _ip(net, first) if first <= last else None


def default_pools(net: Network, gateway: str | None) -> list[dict[str, str]]:
    """The whole usable range minus the gateway, as Neutron's generate_pools gives it."""
    first, last = usable_range(net)
    if first > last:
        return []
    ranges = [(first, last)]
    if gateway is not None and first <= int(address(gateway)) <= last:
        gw = int(address(gateway))
        ranges = [(a, b) for a, b in ((first, gw - 1), (gw + 1, last)) if a <= b]
    return [{"start": _ip(net, a), "end": _ip(net, b)} for a, b in ranges]


def _ip(net: Network, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if net.version == 4 else ipaddress.IPv6Address(value))


def check_pools(net: Network, pools: list[dict[str, str]], cidr: str) -> list[dict[str, str]]:
    """Pools inside the subnet's usable range, each start <= end, none overlapping."""
    first, last = usable_range(net)
    spans: list[tuple[int, int, dict[str, str]]] = []
    for pool in pools:
        start, end = address(pool["start"]), address(pool["end"])
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise errors.InvalidAllocationPool(pool=_pool_text(pool))
        if int(start) < first or int(end) > last:
            raise errors.OutOfBoundsAllocationPool(pool=_pool_text(pool), subnet_cidr=cidr)
        spans.append((int(start), int(end), {"start": str(start), "end": str(end)}))
    spans.sort(key=lambda s: s[0])
    for (_, end_a, pool_a), (start_b, _, pool_b) in zip(spans, spans[1:], strict=False):
        if start_b <= end_a:
            raise errors.OverlappingAllocationPools(pool_1=_pool_text(pool_a),
                                                    pool_2=_pool_text(pool_b), subnet_cidr=cidr)
    return [pool for _, _, pool in spans]


def _pool_text(pool: dict[str, Any]) -> str:
    return f"{pool['start']}-{pool['end']}"


def check_gateway_outside_pools(gateway: str | None, pools: list[dict[str, str]]) -> None:
    if gateway is None:
        return
    gw = int(address(gateway))
    for pool in pools:
        if int(address(pool["start"])) <= gw <= int(address(pool["end"])):
            raise errors.GatewayConflictWithAllocationPools(ip_address=gateway,
                                                            pool=_pool_text(pool))


def check_gateway(net: Network, gateway: str) -> None:
    """A gateway inside the subnet (IPv6 also allows a link-local one, as Neutron does)."""
    ip = address(gateway)
    if ip.version != net.version:
        raise errors.InvalidInput(error_message="Gateway IP version inconsistent with "
                                                "allocation pool version")
    if ip.version == 6 and ip.is_link_local:
        return
    first, last = usable_range(net)
    if not first <= int(ip) <= last:
        raise errors.InvalidInput(error_message="Gateway is not valid on subnet")


def pool_size(pools: list[dict[str, str]]) -> int:
    return sum(int(address(p["end"])) - int(address(p["start"])) + 1 for p in pools)


def free_addresses(pools: list[dict[str, str]], used: set[str]) -> Iterator[str]:
    """Pool addresses not in `used`, lowest first, lazily (a pool may be a /64)."""
    for pool in pools:
        start, end = address(pool["start"]), address(pool["end"])
        for value in range(int(start), int(end) + 1):
            candidate = str(ipaddress.ip_address(value) if start.version == 4
                            else ipaddress.IPv6Address(value))
            if candidate not in used:
                yield candidate


def contains(net: Network, ip: str) -> bool:
    """Whether a port may hold `ip` on this subnet."""
    value = address(ip)
    first, last = usable_range(net)
    return value.version == net.version and first <= int(value) <= last


def eui64(net: Network, mac: str) -> str:
    """The SLAAC address of `mac` in an IPv6 /64: the prefix plus the modified EUI-64."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface = bytes(octets[:3] + [0xFF, 0xFE] + octets[3:])
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(interface, "big")))
