"""Auto-allocated topology (Nova's "get me a network"): on first request, a project gets a
network, an IPv4 subnet and a router whose gateway is on the default external network
(`is_default`), and later requests return the same network.

The steps run one after another through the public service functions, as Neutron does; if
one fails, what the earlier ones made is deleted. Two first requests racing each build a
topology; the one that records it second deletes its own and answers with the first's.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.network import errors
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import AutoAllocatedTopologyRow, NetworkRow
from nimbus.network.service import networks, router_interfaces, routers, subnets

LOG = logging.getLogger(__name__)

DRY_RUN = "dry-run"


def _reply(network_id: str, project_id: str) -> dict[str, Any]:
    return {"id": network_id, "project_id": project_id, "tenant_id": project_id}


async def _default_external(deps: NetworkDeps) -> str:
    async with deps.read() as session:
        found = (await session.scalars(select(NetworkRow.id).where(
            NetworkRow.is_default.is_(True), NetworkRow.external.is_(True)))).all()
    if not found:
        raise errors.AutoAllocationFailure(reason="No default router:external network")
    return found[0]


async def _recorded(deps: NetworkDeps, project_id: str) -> AutoAllocatedTopologyRow | None:
    async with deps.read() as session:
        return await session.get(AutoAllocatedTopologyRow, project_id)


async def get_topology(deps: NetworkDeps, ctx: RequestContext, project_id: str,
                       fields: list[str]) -> dict[str, Any]:
    """The project's auto-allocated network, made now if it has none; with the `dry-run`
    field, only whether it could be made (409 AutoAllocationFailure if not)."""
    deps.authorize(ctx, "get_auto_allocated_topology", {"project_id": project_id})
    if DRY_RUN in fields:
        await _default_external(deps)
        return {"id": "dry-run=pass", "project_id": project_id, "tenant_id": project_id}
    if fields:
        raise errors.BadRequest(resource="auto_allocate", msg="Unrecognized field")
    existing = await _recorded(deps, project_id)
    if existing is not None:
        return _reply(existing.network_id, project_id)
    external = await _default_external(deps)
    made = await _build(deps, ctx, project_id, external)
    try:
        async with deps.write() as session:
            session.add(AutoAllocatedTopologyRow(project_id=project_id, network_id=made[0],
                                                 router_id=made[1]))
    except core_errors.Conflict:
        await _tear_down(deps, ctx, *made)
        winner = await _recorded(deps, project_id)
        if winner is None:
            raise
        return _reply(winner.network_id, project_id)
    LOG.info("auto-allocated network %s for project %s", made[0], project_id)
    return _reply(made[0], project_id)


async def _build(deps: NetworkDeps, ctx: RequestContext, project_id: str,
                 external: str) -> tuple[str, str | None]:
    admin = routers.elevated(ctx)
    owned = {"project_id": project_id}
    network_id, router_id = "", None
    try:
        network = (await networks.create_networks(deps, admin, {"network": {
            "name": "auto_allocated_network", **owned}}))[0][0]
        network_id = network["id"]
        subnet = (await subnets.create_subnets(deps, admin, {"subnet": {
            "name": "auto_allocated_subnet_v4", "network_id": network_id, "ip_version": 4,
            "cidr": deps.config.auto_allocated_cidr, **owned}}))[0][0]
        router = (await routers.create_routers(deps, admin, {"router": {
            "name": "auto_allocated_router", "external_gateway_info": {"network_id": external},
            **owned}}))[0][0]
        router_id = router["id"]
        await router_interfaces.add_router_interface(deps, admin, router_id,
                                                     {"subnet_id": subnet["id"]})
    except Exception:
        await _tear_down(deps, ctx, network_id, router_id)
        raise
    return network_id, router_id


async def _tear_down(deps: NetworkDeps, ctx: RequestContext, network_id: str,
                     router_id: str | None) -> None:
    admin = routers.elevated(ctx)
    if router_id:
        try:
            async with deps.read() as session:
                connected = await routers.connected_subnets(session, router_id)
            for subnet in connected:
                await router_interfaces.remove_router_interface(deps, admin, router_id,
                                                                {"subnet_id": subnet.id})
            await routers.delete_router(deps, admin, router_id)
        except errors.RouterNotFound:
            pass
    if network_id:
        try:
            await networks.delete_network(deps, admin, network_id)
        except errors.NetworkNotFound:
            pass


async def delete_topology(deps: NetworkDeps, ctx: RequestContext, project_id: str) -> None:
    """Delete the project's auto-allocated network and router (404 when it has none)."""
    deps.authorize(ctx, "delete_auto_allocated_topology", {"project_id": project_id})
    existing = await _recorded(deps, project_id)
    if existing is None:
        raise errors.HTTPNotFound(
            detail=f"Auto allocated topology for project {project_id} could not be found")
    await _tear_down(deps, ctx, existing.network_id, existing.router_id)
    async with deps.write() as session:
        await session.execute(delete(AutoAllocatedTopologyRow).where(
            AutoAllocatedTopologyRow.project_id == project_id))
    LOG.info("auto-allocated topology of project %s deleted", project_id)
