"""`add_router_interface` and `remove_router_interface`, by subnet or by port.

By subnet, the router gets a new port holding the subnet's gateway_ip; by port, it adopts a
port that no device uses. A router has at most one interface per subnet, and its subnets never
overlap. An interface that a floating IP or a route needs stays (409). Removing an interface
deletes its port, however it was added, as Neutron does.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.network import errors
from nimbus.network import validators as v
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import (
    FloatingIpRow,
    IpAllocationRow,
    PortRow,
    RouterPortRow,
    RouterRow,
    SubnetRow,
)
from nimbus.network.service import access, cidrs, ports, routers
from nimbus.network.service.l3_ports import ROUTER_INTERFACE

LOG = logging.getLogger(__name__)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="router", msg=msg)


def _parse(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        raise errors.HTTPBadRequest(detail="Resource body required")
    unknown = sorted(set(body) - {"subnet_id", "port_id"})
    if unknown:
        raise errors.HTTPBadRequest(detail=f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    found: list[str | None] = []
    for key in ("subnet_id", "port_id"):
        try:
            found.append(v.uuid_or_none(body.get(key)))
        except v.Invalid as exc:
            raise errors.HTTPBadRequest(detail=f"Invalid input for {key}. Reason: {exc}.") \
                from None
    return found[0], found[1]


def _reply(router_id: str, project_id: str, port: PortRow,
           subnet_ids: list[str]) -> dict[str, Any]:
    return {"id": router_id, "tenant_id": project_id, "project_id": project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None, "subnet_ids": subnet_ids}


async def _check_connectable(session: AsyncSession, router_id: str,
                             subnets: list[SubnetRow]) -> None:
    for connected in await routers.connected_subnets(session, router_id):
        for subnet in subnets:
            if connected.id == subnet.id:
                raise _bad(f"Router already has a port on subnet {subnet.id}")
            if cidrs.network(connected.cidr).overlaps(cidrs.network(subnet.cidr)):
                raise _bad(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr "
                           f"{connected.cidr} of subnet {connected.id}")


async def _subnets_of(session: AsyncSession, port_id: str) -> list[SubnetRow]:
    return list((await session.scalars(select(SubnetRow).join(
        IpAllocationRow, IpAllocationRow.subnet_id == SubnetRow.id).where(
        IpAllocationRow.port_id == port_id))).unique().all())


async def add_router_interface(deps: NetworkDeps, ctx: RequestContext, router_id: str,
                               body: Any) -> dict[str, Any]:
    subnet_id, port_id = _parse(body)
    if subnet_id and port_id:
        raise _bad("Cannot specify both subnet-id and port-id")
    if not (subnet_id or port_id):
        raise _bad("Either subnet_id or port_id must be specified")
    async with deps.write() as session:
        router = await routers.visible_router(session, ctx, router_id, for_update=True)
        deps.authorize(ctx, "add_router_interface", {"project_id": router.project_id})
        if port_id:
            port, subnets = await _adopt_port(session, ctx, router.id, port_id)
        else:
            assert subnet_id is not None
            port, subnets = await _port_for_subnet(session, deps, ctx, router, subnet_id)
        session.add(RouterPortRow(port_id=port.id, router_id=router.id,
                                  port_type=ROUTER_INTERFACE))
        access.touch(router)
        await session.flush()
        LOG.info("router %s: interface %s added", router.id, port.id)
        return _reply(router.id, router.project_id, port, [s.id for s in subnets])


async def _adopt_port(session: AsyncSession, ctx: RequestContext, router_id: str,
                      port_id: str) -> tuple[PortRow, list[SubnetRow]]:
    port, _ = await access.visible_port(session, ctx, port_id)
    if port.device_id or port.device_owner:
        raise errors.PortInUse(port_id=port.id, net_id=port.network_id,
                               device_id=port.device_id or port.device_owner)
    subnets = await _subnets_of(session, port.id)
    if not subnets:
        raise _bad("Router port must have at least one fixed IP")
    await _check_connectable(session, router_id, subnets)
    port.device_id, port.device_owner, port.security_groups = router_id, ROUTER_INTERFACE, []
    # No agent plugs a router's ports here: the router is its own dataplane, so they are up.
    port.status = "ACTIVE"
    access.touch(port)
    return port, subnets


async def _port_for_subnet(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                           router: RouterRow,
                           subnet_id: str) -> tuple[PortRow, list[SubnetRow]]:
    subnet, _ = await access.visible_subnet(session, ctx, subnet_id)
    if not subnet.gateway_ip:
        raise _bad("Subnet for router interface must have a gateway IP")
    await _check_connectable(session, router.id, [subnet])
    port = await ports.create_in(session, deps, routers.elevated(ctx), {
        "network_id": subnet.network_id, "project_id": router.project_id,
        "fixed_ips": [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}],
        "device_id": router.id, "device_owner": ROUTER_INTERFACE})
    return port, [subnet]


async def remove_router_interface(deps: NetworkDeps, ctx: RequestContext, router_id: str,
                                  body: Any) -> dict[str, Any]:
    subnet_id, port_id = _parse(body)
    if not (subnet_id or port_id):
        raise _bad("Either subnet_id or port_id must be specified")
    async with deps.write() as session:
        router = await routers.visible_router(session, ctx, router_id, for_update=True)
        deps.authorize(ctx, "remove_router_interface", {"project_id": router.project_id})
        port = await _find_interface(session, router_id, subnet_id, port_id)
        subnets = await _subnets_of(session, port.id)
        await _check_unused(session, router, subnets)
        reply = _reply(router.id, router.project_id, port, [s.id for s in subnets])
        await session.execute(delete(RouterPortRow).where(RouterPortRow.port_id == port.id))
        await ports.remove_in(session, port)
        access.touch(router)
    LOG.info("router %s: interface %s removed", router_id, reply["port_id"])
    return reply


async def _find_interface(session: AsyncSession, router_id: str, subnet_id: str | None,
                          port_id: str | None) -> PortRow:
    candidates = await session.scalars(select(PortRow).join(
        RouterPortRow, RouterPortRow.port_id == PortRow.id).where(
        RouterPortRow.router_id == router_id, RouterPortRow.port_type == ROUTER_INTERFACE))
    for port in candidates.all():
        if port_id and port.id != port_id:
            continue
        if subnet_id and subnet_id not in {s.id for s in await _subnets_of(session, port.id)}:
            if port_id:
                raise errors.RouterInterfaceNotFoundForSubnet(router_id=router_id,
                                                              subnet_id=subnet_id)
            continue
        return port
    if port_id:
        raise errors.RouterInterfaceNotFound(router_id=router_id, port_id=port_id)
    raise errors.RouterInterfaceNotFoundForSubnet(router_id=router_id, subnet_id=subnet_id)


async def _check_unused(session: AsyncSession, router: RouterRow,
                        subnets: list[SubnetRow]) -> None:
    nets = [(s, cidrs.network(s.cidr)) for s in subnets]
    for route in router.routes:
        for subnet, net in nets:
            if cidrs.contains(net, route["nexthop"]):
                raise errors.RouterInterfaceInUseByRoute(router_id=router.id,
                                                         subnet_id=subnet.id)
    fixed = (await session.execute(select(FloatingIpRow.fixed_ip_address).where(
        FloatingIpRow.router_id == router.id))).scalars().all()
    for subnet, net in nets:
        if any(ip and cidrs.contains(net, ip) for ip in fixed):
            raise errors.RouterInterfaceInUseByFloatingIP(router_id=router.id,
                                                          subnet_id=subnet.id)
