"""A server's addresses by network label (`/servers/{id}/ips`)."""

from __future__ import annotations

from typing import Any

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service.servers import visible_row
from nimbus.core.context import RequestContext

Addresses = dict[str, list[dict[str, Any]]]


def _addresses(row: InstanceRow) -> Addresses:
    # TODO(issue 5): the fixed and floating IPs of the server's ports, once networks exist.
    return {}


async def get_addresses(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> Addresses:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:ips:index", ctx, {"project_id": row.project_id})
        return _addresses(row)


async def get_network(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                      network: str) -> list[dict[str, Any]]:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:ips:show", ctx, {"project_id": row.project_id})
        addresses = _addresses(row)
    if network not in addresses:
        raise errors.NetworkNotAttached()
    return addresses[network]
