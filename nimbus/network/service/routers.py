"""Routers: create, show, list, update, delete; interfaces; the external gateway; routes.

An interface added by subnet is a new port (network:router_interface) holding the subnet's
gateway_ip; one added by port adopts a free port. The gateway is a port
(network:router_gateway) on a `router:external` network. Routes (extraroute) must go through
a subnet the router is connected to. A router with interfaces cannot be deleted (409).
Ports the router owns are created with the router's project and the network's authority.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.network import errors, schemas
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import (
    FloatingIpRow,
    IpAllocationRow,
    PortRow,
    RouterPortRow,
    RouterRow,
    SubnetRow,
    TagRow,
)
from nimbus.network.service import access, cidrs, listing, ports, quotas
from nimbus.network.service.l3_ports import ROUTER_GATEWAY, ROUTER_INTERFACE

LOG = logging.getLogger(__name__)


def elevated(ctx: RequestContext) -> RequestContext:
    """The caller with the network's own authority, for the ports a router or FIP owns."""
    return ctx.replace(roles=tuple(dict.fromkeys((*ctx.roles, "admin"))))


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="router", msg=msg)


async def _fixed_ips(session: AsyncSession, port_ids: Sequence[str]) -> dict[str, list[
        dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {i: [] for i in port_ids}
    if port_ids:
        rows = await session.execute(select(IpAllocationRow.port_id, IpAllocationRow.subnet_id,
                                            IpAllocationRow.ip_address)
                                     .where(IpAllocationRow.port_id.in_(list(port_ids))))
        for port_id, subnet_id, ip in rows:
            found[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
    for fixed in found.values():
        fixed.sort(key=lambda f: (cidrs.address(f["ip_address"]).version,
                                  int(cidrs.address(f["ip_address"]))))
    return found


async def to_dicts(session: AsyncSession, rows: Sequence[RouterRow]) -> list[dict[str, Any]]:
    gateways = [row.gw_port_id for row in rows if row.gw_port_id]
    fixed = await _fixed_ips(session, gateways)
    networks = dict((await session.execute(select(PortRow.id, PortRow.network_id).where(
        PortRow.id.in_(gateways)))).all()) if gateways else {}
    tags = await access.tags_of(session, [row.id for row in rows])
    found = []
    for row in rows:
        gateway = None
        if row.gw_port_id:
            gateway = {"network_id": networks.get(row.gw_port_id), "enable_snat": row.enable_snat,
                       "external_fixed_ips": fixed[row.gw_port_id]}
        found.append({"id": row.id, "name": row.name, "status": row.status,
                      "admin_state_up": row.admin_state_up, "external_gateway_info": gateway,
                      "routes": list(row.routes),
                      **access.standard_attrs(row, row.project_id, tags[row.id])})
    return found


async def visible_router(session: AsyncSession, ctx: RequestContext, router_id: str, *,
                         for_update: bool = False) -> RouterRow:
    row = await session.get(RouterRow, router_id, with_for_update=for_update or None)
    if row is None or not ctx.may_see(row.project_id):
        raise errors.RouterNotFound(router_id=router_id)
    return row


def _target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


async def create_routers(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    items, bulk = schemas.items_of("router", body)
    prepared = [schemas.prepare("router", item, create=True) for item in items]
    async with deps.write() as session:
        rows = [await _create(session, deps, ctx, attrs) for attrs in prepared]
        await session.flush()
        created = await to_dicts(session, rows)
    LOG.info("routers %s created", [r["id"] for r in created])
    return created, bulk


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> RouterRow:
    project_id = access.check_project(ctx, attrs)
    _authorize(deps, ctx, "create", project_id, attrs)
    await quotas.enforce(session, deps, project_id, "router")
    now = db.utcnow()
    row = RouterRow(id=str(uuid.uuid4()), project_id=project_id, name=attrs["name"],
                    description=attrs["description"], admin_state_up=attrs["admin_state_up"],
                    status="ACTIVE", enable_snat=True, routes=[], created_at=now,
                    updated_at=now, revision_number=0)
    session.add(row)
    await session.flush()
    if attrs.get("external_gateway_info"):
        await _set_gateway(session, deps, ctx, row, attrs["external_gateway_info"])
    return row


def _authorize(deps: NetworkDeps, ctx: RequestContext, verb: str, project_id: str,
               attrs: dict[str, Any]) -> None:
    gateway = attrs.get("external_gateway_info") or {}
    given = [f"external_gateway_info:{key}" for key in ("enable_snat", "external_fixed_ips")
             if key in gateway]
    access.authorize(deps, ctx, f"{verb}_router", _target(project_id), given)


async def gateway_network(session: AsyncSession, router: RouterRow) -> str | None:
    if not router.gw_port_id:
        return None
    return await session.scalar(select(PortRow.network_id).where(
        PortRow.id == router.gw_port_id))


async def _set_gateway(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                       router: RouterRow, info: dict[str, Any] | None) -> None:
    """Make the router's gateway what `info` says: none, or a port on an external network."""
    current = await gateway_network(session, router)
    wanted = (info or {}).get("network_id")
    if current is not None and wanted != current:
        uses = await session.scalar(select(FloatingIpRow.id).where(
            FloatingIpRow.router_id == router.id).limit(1))
        if uses is not None:
            raise errors.RouterExternalGatewayInUseByFloatingIP(router_id=router.id,
                                                                net_id=current)
    if not info:
        await _remove_gateway(session, router)
        return
    network = await access.visible_network(session, ctx, info["network_id"])
    if not network.external:
        raise _bad(f"Network {network.id} is not an external network")
    router.enable_snat = info.get("enable_snat", True)
    fixed = info.get("external_fixed_ips")
    if current == network.id and router.gw_port_id is not None:
        held = (await _fixed_ips(session, [router.gw_port_id]))[router.gw_port_id]
        if not fixed or all(f in held or ("ip_address" not in f and any(
                h["subnet_id"] == f.get("subnet_id") for h in held)) for f in fixed):
            return
    await _remove_gateway(session, router)
    item: dict[str, Any] = {"network_id": network.id, "project_id": router.project_id,
                            "device_owner": ROUTER_GATEWAY, "device_id": router.id}
    if fixed:
        item["fixed_ips"] = fixed
    port = await ports.create_in(session, deps, elevated(ctx), item)
    session.add(RouterPortRow(port_id=port.id, router_id=router.id, port_type=ROUTER_GATEWAY))
    router.gw_port_id = port.id


async def _remove_gateway(session: AsyncSession, router: RouterRow) -> None:
    if router.gw_port_id is None:
        return
    port = await session.get(PortRow, router.gw_port_id)
    router.gw_port_id = None
    router.enable_snat = True
    await session.execute(delete(RouterPortRow).where(
        RouterPortRow.router_id == router.id, RouterPortRow.port_type == ROUTER_GATEWAY))
    if port is not None:
        await ports.remove_in(session, port)


async def get_router(deps: NetworkDeps, ctx: RequestContext, router_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row = await visible_router(session, ctx, router_id)
        deps.authorize(ctx, "get_router", _target(row.project_id))
        return (await to_dicts(session, [row]))[0]


async def list_routers(deps: NetworkDeps, ctx: RequestContext,
                       query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_router", _target(ctx.project_id or ""))
    statement = select(RouterRow)
    if not ctx.is_admin:
        statement = statement.where(RouterRow.project_id == (ctx.project_id or ""))
    if ids := query.filters.get("id"):
        statement = statement.where(RouterRow.id.in_(ids))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_router(deps: NetworkDeps, ctx: RequestContext, router_id: str,
                        body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("router", schemas.update_item("router", body), create=False)
    if "project_id" in attrs:
        raise errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row = await visible_router(session, ctx, router_id, for_update=True)
        _authorize(deps, ctx, "update", row.project_id, attrs)
        for key in ("name", "description", "admin_state_up"):
            if key in attrs:
                setattr(row, key, attrs[key])
        if "external_gateway_info" in attrs:
            await _set_gateway(session, deps, ctx, row, attrs["external_gateway_info"])
        if "routes" in attrs:
            row.routes = await _checked_routes(session, row, attrs["routes"])
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def _interfaces(session: AsyncSession, router_id: str) -> list[PortRow]:
    return list((await session.scalars(select(PortRow).join(
        RouterPortRow, RouterPortRow.port_id == PortRow.id).where(
        RouterPortRow.router_id == router_id,
        RouterPortRow.port_type == ROUTER_INTERFACE))).all())


async def connected_subnets(session: AsyncSession, router_id: str) -> list[SubnetRow]:
    ids = [p.id for p in await _interfaces(session, router_id)]
    if not ids:
        return []
    return list((await session.scalars(select(SubnetRow).join(
        IpAllocationRow, IpAllocationRow.subnet_id == SubnetRow.id).where(
        IpAllocationRow.port_id.in_(ids)))).unique().all())


async def _checked_routes(session: AsyncSession, router: RouterRow,
                          routes: list[dict[str, str]]) -> list[dict[str, str]]:
    subnets = await connected_subnets(session, router.id)
    own = {f["ip_address"] for fixed in (await _fixed_ips(
        session, [p.id for p in await _interfaces(session, router.id)])).values()
        for f in fixed}
    unique: list[dict[str, str]] = []
    for route in routes:
        if route in unique:
            continue
        nexthop = route["nexthop"]
        if nexthop in own:
            raise errors.InvalidRoutes(routes=route, reason="the nexthop is used by router")
        if not any(cidrs.contains(cidrs.network(s.cidr), nexthop) for s in subnets):
            raise errors.InvalidRoutes(routes=route,
                                       reason="the nexthop is not connected with router")
        unique.append({"destination": route["destination"], "nexthop": nexthop})
    return unique


async def change_routes(deps: NetworkDeps, ctx: RequestContext, router_id: str, body: Any, *,
                        add: bool) -> dict[str, Any]:
    """extraroute-atomic: add routes to, or remove them from, the router's list."""
    attrs = schemas.prepare("router", schemas.update_item("router", body), create=False)
    if set(attrs) != {"routes"}:
        raise errors.HTTPBadRequest(detail="Only 'routes' may be given")
    async with deps.write() as session:
        row = await visible_router(session, ctx, router_id, for_update=True)
        deps.authorize(ctx, "add_extraroutes" if add else "remove_extraroutes",
                       _target(row.project_id))
        current = list(row.routes)
        if add:
            row.routes = await _checked_routes(session, row, current + attrs["routes"])
        else:
            row.routes = [r for r in current if r not in attrs["routes"]]
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def delete_router(deps: NetworkDeps, ctx: RequestContext, router_id: str) -> None:
    async with deps.write() as session:
        row = await visible_router(session, ctx, router_id, for_update=True)
        deps.authorize(ctx, "delete_router", _target(row.project_id))
        if await _interfaces(session, router_id):
            raise errors.RouterInUse(router_id=router_id)
        await _set_gateway(session, deps, ctx, row, None)
        await session.execute(delete(TagRow).where(TagRow.resource_id == router_id))
        await session.delete(row)
    LOG.info("router %s deleted", router_id)
