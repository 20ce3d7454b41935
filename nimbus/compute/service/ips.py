"""A server's addresses by network label (`/servers/{id}/ips`)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service.servers import visible_row
from nimbus.core.context import RequestContext

Addresses = dict[str, list[dict[str, Any]]]


def addresses(row: InstanceRow, *, extended: bool = True) -> Addresses:
    """Nova's `addresses` from the network info cache: by network name, fixed addresses then
    floating ones; `extended` adds the type and MAC (servers show them, `/ips` does not)."""
    found: Addresses = {}
    for entry in row.network_info or []:
        listed = found.setdefault(entry["network_name"], [])
        kinds = [(f["ip_address"], "fixed") for f in entry.get("fixed_ips", [])]
        kinds += [(ip, "floating") for ip in entry.get("floating_ips", [])]
        for addr, kind in kinds:
            item: dict[str, Any] = {"version": ipaddress.ip_address(addr).version, "addr": addr}
            if extended:
                item.update({"OS-EXT-IPS:type": kind,
                             "OS-EXT-IPS-MAC:mac_addr": entry["mac_address"]})
            listed.append(item)
    return found


def matches(row: InstanceRow, ip: str | None, ip6: str | None) -> bool:
    """Nova's `ip`/`ip6` list filters: a regular expression searched in each address."""
    wanted = [(pattern, version) for pattern, version in ((ip, 4), (ip6, 6)) if pattern]
    if not wanted:
        return True
    listed = [a for items in addresses(row).values() for a in items]
    for pattern, version in wanted:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return False
        if not any(a["version"] == version and compiled.search(a["addr"]) for a in listed):
            return False
    return True


async def get_addresses(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> Addresses:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:ips:index", ctx, {"project_id": row.project_id})
        return addresses(row, extended=False)


async def get_network(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                      network: str) -> list[dict[str, Any]]:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:ips:show", ctx, {"project_id": row.project_id})
        found = addresses(row, extended=False)
    if network not in found:
        raise errors.NetworkNotAttached()
    return found[network]
