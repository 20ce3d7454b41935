"""How the dataplane names things; the one place both compute and the network agent read.

One host namespace per cloud, named from the state directory, so that several clouds (and
tests) on one machine never share a bridge. Inside it, Neutron's Linux-bridge names: a bridge
`brq<network_id[:11]>` per network and a device `tap<port_id[:11]>` per port of the cloud's own
(both 14 characters, within Linux's 15). DHCP gets `qdhcp-<network_id>` and a router
`qrouter-<router_id>` as in Neutron; the state directory, not the name, records which cloud
made them.

A guest's tap also names its compute host, `tap<port_id[:8]><hash of host, 4 hex>` (15
characters), because several compute hosts of one cloud share the namespace on one machine and
a migration needs the port's tap on the source and on the destination at once. Every tap of a
port starts `tap<port_id[:8]>` (`port_taps`), which is what the firewall matches; a UUID's
ninth character is `-`, so a guest's tap never takes the name of a port of the cloud's own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HOST_PREFIX = "nimbus-"
DHCP_PREFIX = "qdhcp-"
ROUTER_PREFIX = "qrouter-"
TAP_PREFIX = "tap"


def host_namespace(state_dir: Path) -> str:
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()
    return f"{HOST_PREFIX}{digest[:8]}"


def bridge(network_id: str) -> str:
    return f"brq{network_id[:11]}"


def tap(port_id: str) -> str:
    """The bridge's end of a port of the cloud's own (DHCP, router)."""
    return f"{TAP_PREFIX}{port_id[:11]}"


def guest_tap(port_id: str, host: str) -> str:
    """The tap compute host `host` plugs for a guest's port."""
    return f"{port_taps(port_id)}{hashlib.sha256(host.encode()).hexdigest()[:4]}"


def port_taps(port_id: str) -> str:
    """The prefix of every tap of the port, on any host (the firewall matches `<prefix>*`)."""
    return f"{TAP_PREFIX}{port_id[:8]}"


def dhcp_namespace(network_id: str) -> str:
    return f"{DHCP_PREFIX}{network_id}"


def dhcp_device(port_id: str) -> str:
    """The DHCP port's end inside `qdhcp-<network>`; its peer in the bridge is `tap(port_id)`."""
    return f"ns-{port_id[:11]}"


def router_namespace(router_id: str) -> str:
    return f"{ROUTER_PREFIX}{router_id}"


def router_interface(port_id: str) -> str:
    """A router's leg on an internal network, inside `qrouter-<router>`."""
    return f"qr-{port_id[:11]}"


def router_gateway(port_id: str) -> str:
    """A router's leg on its external network, inside `qrouter-<router>`."""
    return f"qg-{port_id[:11]}"
