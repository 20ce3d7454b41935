"""Floating IPs: an address on an external network (a port, network:floatingip) that may be
associated with a fixed IPv4 address of a port.

The association needs a router with a gateway on the floating IP's network and an interface
on the fixed address's subnet (404 ExternalGatewayForFloatingIPNotFound otherwise); that router
is the floating IP's `router_id`. One fixed address has at most one floating IP per external
network. No free address on the external network is 409 IpAddressGenerationFailure.
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
    TagRow,
)
from nimbus.network.service import access, cidrs, listing, ports, quotas, routers
from nimbus.network.service.l3_ports import FLOATING_IP, ROUTER_GATEWAY, ROUTER_INTERFACE

LOG = logging.getLogger(__name__)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="floatingip", msg=msg)


async def to_dicts(session: AsyncSession, rows: Sequence[FloatingIpRow]) -> list[dict[str, Any]]:
    tags = await access.tags_of(session, [row.id for row in rows])
    return [{"id": row.id, "floating_ip_address": row.floating_ip_address,
             "floating_network_id": row.floating_network_id, "router_id": row.router_id,
             "port_id": row.fixed_port_id, "fixed_ip_address": row.fixed_ip_address,
             "status": row.status, "port_forwardings": [],
             **access.standard_attrs(row, row.project_id, tags[row.id])} for row in rows]


async def visible_floating_ip(session: AsyncSession, ctx: RequestContext,
                              fip_id: str) -> FloatingIpRow:
    row = await session.get(FloatingIpRow, fip_id)
    if row is None or not ctx.may_see(row.project_id):
        raise errors.FloatingIPNotFound(floatingip_id=fip_id)
    return row


def _target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


async def create_floating_ip(deps: NetworkDeps, ctx: RequestContext,
                             body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("floatingip", schemas.update_item("floatingip", body), create=True)
    project_id = access.check_project(ctx, attrs)
    access.authorize(deps, ctx, "create_floatingip", _target(project_id),
                     [k for k in ("floating_ip_address",) if attrs.get(k)])
    async with deps.write() as session:
        network = await access.visible_network(session, ctx, attrs["floating_network_id"])
        if not network.external:
            raise _bad(f"Network {network.id} is not a valid external network")
        await quotas.enforce(session, deps, project_id, "floatingip")
        fip_id = str(uuid.uuid4())
        item: dict[str, Any] = {"network_id": network.id, "project_id": project_id,
                                "device_owner": FLOATING_IP, "device_id": fip_id}
        fixed = {k: attrs[k] for k in ("subnet_id", "floating_ip_address") if attrs.get(k)}
        if fixed:
            item["fixed_ips"] = [{"subnet_id": fixed["subnet_id"]} if "subnet_id" in fixed
                                 else {}]
            if "floating_ip_address" in fixed:
                item["fixed_ips"][0]["ip_address"] = fixed["floating_ip_address"]
        port = await ports.create_in(session, deps, routers.elevated(ctx), item)
        address = await _ipv4_of(session, port.id)
        if address is None:
            raise _bad(f"Network {network.id} has no IPv4 subnet")
        now = db.utcnow()
        row = FloatingIpRow(id=fip_id, project_id=project_id, floating_network_id=network.id,
                            floating_port_id=port.id, floating_ip_address=address,
                            description=attrs["description"], status="DOWN",
                            created_at=now, updated_at=now, revision_number=0)
        session.add(row)
        await session.flush()
        if attrs.get("port_id"):
            await _associate(session, ctx, row, attrs["port_id"], attrs.get("fixed_ip_address"))
        await session.flush()
        created = (await to_dicts(session, [row]))[0]
    LOG.info("floating IP %s (%s) created", created["id"], created["floating_ip_address"])
    return created


async def _ipv4_of(session: AsyncSession, port_id: str) -> str | None:
    for ip in (await session.scalars(select(IpAllocationRow.ip_address).where(
            IpAllocationRow.port_id == port_id))).all():
        if cidrs.address(ip).version == 4:
            return ip
    return None


async def _associate(session: AsyncSession, ctx: RequestContext, row: FloatingIpRow,
                     port_id: str | None, fixed_ip: str | None) -> None:
    """Point the floating IP at `port_id` (None disassociates), through a router that joins
    the port's subnet to the floating network."""
    if port_id is None:
        row.fixed_port_id = row.fixed_ip_address = row.router_id = None
        row.status = "DOWN"
        return
    port, _ = await access.visible_port(session, ctx, port_id)
    if port.device_owner.startswith("network:"):
        raise _bad(f"Port {port.id} is owned by {port.device_owner} and cannot have a "
                   "floating IP")
    allocations = (await session.execute(select(
        IpAllocationRow.ip_address, IpAllocationRow.subnet_id).where(
        IpAllocationRow.port_id == port.id))).all()
    v4 = [(ip, subnet) for ip, subnet in allocations if cidrs.address(ip).version == 4]
    if fixed_ip is not None:
        chosen = [(ip, subnet) for ip, subnet in v4 if ip == fixed_ip]
        if not chosen:
            raise _bad(f"Port {port.id} does not have fixed ip {fixed_ip}")
    elif len(v4) > 1:
        raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses. Must provide a specific "
                   "IPv4 address when assigning a floating IP")
    else:
        chosen = v4
    if not chosen:
        raise _bad(f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses")
    address, subnet_id = chosen[0]
    taken = await session.scalar(select(FloatingIpRow.id).where(
        FloatingIpRow.fixed_port_id == port.id, FloatingIpRow.fixed_ip_address == address,
        FloatingIpRow.floating_network_id == row.floating_network_id,
        FloatingIpRow.id != row.id))
    if taken is not None:
        raise errors.FloatingIPPortAlreadyAssociated(
            floating_ip_address=row.floating_ip_address, fip_id=row.id, port_id=port.id,
            fixed_ip=address, net_id=row.floating_network_id)
    router_id = await _router_between(session, row.floating_network_id, subnet_id)
    if router_id is None:
        raise errors.ExternalGatewayForFloatingIPNotFound(
            external_network_id=row.floating_network_id, subnet_id=subnet_id, port_id=port.id)
    row.fixed_port_id, row.fixed_ip_address, row.router_id = port.id, address, router_id
    row.status = "ACTIVE"


async def _router_between(session: AsyncSession, external_network_id: str,
                          subnet_id: str) -> str | None:
    """A router with a gateway on the external network and an interface on the subnet."""
    gateway = select(RouterPortRow.router_id).join(
        PortRow, PortRow.id == RouterPortRow.port_id).where(
        RouterPortRow.port_type == ROUTER_GATEWAY, PortRow.network_id == external_network_id)
    found = await session.scalar(select(RouterRow.id).join(
        RouterPortRow, RouterPortRow.router_id == RouterRow.id).join(
        IpAllocationRow, IpAllocationRow.port_id == RouterPortRow.port_id).where(
        RouterPortRow.port_type == ROUTER_INTERFACE, IpAllocationRow.subnet_id == subnet_id,
        RouterRow.id.in_(gateway)).order_by(RouterRow.created_at, RouterRow.id).limit(1))
    return found


async def get_floating_ip(deps: NetworkDeps, ctx: RequestContext, fip_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row = await visible_floating_ip(session, ctx, fip_id)
        deps.authorize(ctx, "get_floatingip", _target(row.project_id))
        return (await to_dicts(session, [row]))[0]


async def list_floating_ips(deps: NetworkDeps, ctx: RequestContext,
                            query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_floatingip", _target(ctx.project_id or ""))
    statement = select(FloatingIpRow)
    if not ctx.is_admin:
        statement = statement.where(FloatingIpRow.project_id == (ctx.project_id or ""))
    if ids := query.filters.get("id"):
        statement = statement.where(FloatingIpRow.id.in_(ids))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_floating_ip(deps: NetworkDeps, ctx: RequestContext, fip_id: str,
                             body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("floatingip", schemas.update_item("floatingip", body), create=False)
    async with deps.write() as session:
        row = await visible_floating_ip(session, ctx, fip_id)
        deps.authorize(ctx, "update_floatingip", _target(row.project_id))
        if "description" in attrs:
            row.description = attrs["description"]
        if "port_id" in attrs:
            await _associate(session, ctx, row, attrs["port_id"], attrs.get("fixed_ip_address"))
        elif "fixed_ip_address" in attrs:
            await _associate(session, ctx, row, row.fixed_port_id, attrs["fixed_ip_address"])
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def delete_floating_ip(deps: NetworkDeps, ctx: RequestContext, fip_id: str) -> None:
    async with deps.write() as session:
        row = await visible_floating_ip(session, ctx, fip_id)
        deps.authorize(ctx, "delete_floatingip", _target(row.project_id))
        port = await session.get(PortRow, row.floating_port_id)
        await session.execute(delete(TagRow).where(TagRow.resource_id == fip_id))
        await session.delete(row)
        await session.flush()
        if port is not None:
            await ports.remove_in(session, port)
    LOG.info("floating IP %s deleted", fip_id)
