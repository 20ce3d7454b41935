"""A server's addresses by network label (`/servers/{id}/ips`)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service.servers import Server, visible_row
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

Addresses = dict[str, list[dict[str, Any]]]


def addresses(row: InstanceRow, floating: dict[str, list[str]] | None = None, *,
              extended: bool = True) -> Addresses:
    """Nova's `addresses` from the network info cache: by network name, fixed addresses then
    the floating ones of each port; `extended` adds the type and MAC (servers show them,
    `/ips` does not)."""
    found: Addresses = {}
    floating = floating or {}
    for entry in row.network_info or []:
        listed = found.setdefault(entry["network_name"], [])
        kinds = [(f["ip_address"], "fixed") for f in entry.get("fixed_ips", [])]
        kinds += [(ip, "floating") for ip in floating.get(entry["port_id"], [])]
        for addr, kind in kinds:
            item: dict[str, Any] = {"version": ipaddress.ip_address(addr).version, "addr": addr}
            if extended:
                item.update({"OS-EXT-IPS:type": kind,
                             "OS-EXT-IPS-MAC:mac_addr": entry["mac_address"]})
            listed.append(item)
    return found


async def floating_ips(deps: ComputeDeps, ctx: RequestContext,
                       rows: list[InstanceRow]) -> dict[str, list[str]]:
    """The floating addresses on the servers' ports, port by port, from the network service
    (associations change there, not here); with that service down, none are shown."""
    port_ids = [e["port_id"] for row in rows for e in row.network_info or []]
    if not port_ids:
        return {}
    try:
        found = await deps.network.floating_ips_of(ctx.auth_token or "", port_ids)
    except core_errors.ServiceUnavailable:
        return {}
    by_port: dict[str, list[str]] = {}
    for fip in found:
        by_port.setdefault(fip["port_id"], []).append(fip["floating_ip_address"])
    return by_port


async def with_floating(deps: ComputeDeps, ctx: RequestContext,
                        servers: list[Server]) -> list[Server]:
    by_port = await floating_ips(deps, ctx, [s.row for s in servers])
    if not by_port:
        return servers
    return [dataclasses.replace(s, floating={e["port_id"]: by_port[e["port_id"]]
                                             for e in s.row.network_info or []
                                             if e["port_id"] in by_port}) for s in servers]


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
    return addresses(row, await floating_ips(deps, ctx, [row]), extended=False)


async def get_network(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                      network: str) -> list[dict[str, Any]]:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:ips:show", ctx, {"project_id": row.project_id})
    found = addresses(row, await floating_ips(deps, ctx, [row]), extended=False)
    if network not in found:
        raise errors.NetworkNotAttached()
    return found[network]
