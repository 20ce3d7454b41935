"""Network IP availability: per network and per subnet, the addresses the pools offer
(`total_ips`) and the addresses ports hold (`used_ips`). Admin only, as in Neutron."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from nimbus.core.context import RequestContext
from nimbus.network import errors
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import IpAllocationRow, NetworkRow, SubnetRow
from nimbus.network.service import cidrs, listing


async def _availabilities(deps: NetworkDeps, network_ids: list[str] | None) -> list[dict[str, Any]]:
    async with deps.read() as session:
        networks = select(NetworkRow)
        subnets = select(SubnetRow)
        if network_ids is not None:
            networks = networks.where(NetworkRow.id.in_(network_ids))
            subnets = subnets.where(SubnetRow.network_id.in_(network_ids))
        network_rows = (await session.scalars(networks)).all()
        subnet_rows = (await session.scalars(subnets.order_by(SubnetRow.created_ns))).all()
        used: Counter[str] = Counter()
        for subnet_id, count in await session.execute(
                select(IpAllocationRow.subnet_id, func.count())
                .group_by(IpAllocationRow.subnet_id)):
            used[subnet_id] = count
    found = []
    for network in network_rows:
        per_subnet: list[dict[str, Any]] = [{"subnet_id": s.id, "subnet_name": s.name, "cidr": s.cidr,
                       "ip_version": s.ip_version,
                       "total_ips": cidrs.pool_size(list(s.allocation_pools)),
                       "used_ips": used[s.id]}
                      for s in subnet_rows if s.network_id == network.id]
        found.append({"network_id": network.id, "network_name": network.name,
                      "project_id": network.project_id, "tenant_id": network.project_id,
                      "total_ips": sum(s["total_ips"] for s in per_subnet),
                      "used_ips": sum(s["used_ips"] for s in per_subnet),
                      "subnet_ip_availability": per_subnet})
    return found


async def list_availabilities(deps: NetworkDeps, ctx: RequestContext,
                              query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_network_ip_availability", {})
    found = await _availabilities(deps, query.filters.get("network_id"))
    if versions := query.filters.get("ip_version"):
        found = [n for n in found if any(str(s["ip_version"]) in versions
                                         for s in n["subnet_ip_availability"])]
    return found


async def get_availability(deps: NetworkDeps, ctx: RequestContext,
                           network_id: str) -> dict[str, Any]:
    deps.authorize(ctx, "get_network_ip_availability", {})
    found = await _availabilities(deps, [network_id])
    if not found:
        raise errors.NetworkNotFound(net_id=network_id)
    return found[0]
