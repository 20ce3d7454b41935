"""Security group rule attributes as Neutron converts them: IP protocols by name or number,
ports, ethertypes and remote prefixes. Each converter raises Neutron's own error type."""

from __future__ import annotations

import ipaddress
from typing import Any

from nimbus.network import errors

# IANA numbers of the protocols a rule may name (Neutron's IP_PROTOCOL_MAP).
NUMBERS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
    "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
# Protocols with ports; ICMP's "ports" are its type and code.
WITH_PORTS = frozenset({6, 17, 33, 132, 136})
ICMP = frozenset({1, 58})
IPV6_ONLY = frozenset({"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt",
                       "ipv6-opts", "ipv6-route"})
ETHERTYPES = ("IPv4", "IPv6")
# What Neutron takes as "any protocol".
ANY = ("any",)


def protocol(value: Any) -> str | None:
    """A protocol name in lower case, a number 0-255 as a string, or None for any."""
    if value is None or value in ANY:
        return None
    text = str(value)
    if text.isdigit() and not isinstance(value, bool):
        if 0 <= int(text) <= 255:
            return str(int(text))
    elif isinstance(value, str) and value.lower() in NUMBERS:
        return value.lower()
    raise errors.SecurityGroupRuleInvalidProtocol(protocol=value, values=sorted(NUMBERS))


def number(name: str | None) -> int | None:
    if name is None:
        return None
    return int(name) if name.isdigit() else NUMBERS[name]


def port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        found = int(value)
    except (TypeError, ValueError):
        raise errors.SecurityGroupInvalidPortValue(port=value) from None
    if isinstance(value, bool) or not 0 <= found <= 65535 or str(found) != str(value).strip():
        raise errors.SecurityGroupInvalidPortValue(port=value)
    return found


def ethertype(value: Any) -> str:
    for known in ETHERTYPES:
        if isinstance(value, str) and value.lower() == known.lower():
            return known
    raise errors.SecurityGroupRuleInvalidEtherType(ethertype=value, values=list(ETHERTYPES))


def prefix(value: Any) -> str | None:
    """A CIDR as given (`10.0.0.1` becomes `10.0.0.1/32`); host bits are kept, as Neutron does."""
    if value is None:
        return None
    try:
        interface = ipaddress.ip_interface(value)
    except (TypeError, ValueError):
        raise errors.InvalidCIDR(input=value) from None
    return str(interface)


def normalized(cidr: str | None) -> str | None:
    return None if cidr is None else str(ipaddress.ip_interface(cidr).network)
