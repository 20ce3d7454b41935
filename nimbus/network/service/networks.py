"""Networks: create (one or many), show, list, update, delete.

A network without provider attributes gets the configured tenant network type; provider
attributes are an admin's. Deleting a network takes its DHCP ports and subnets with it, and
is refused (409 NetworkInUse) while any other port remains.
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
from nimbus.network.models import NetworkRow, PortRow, SubnetRow, TagRow
from nimbus.network.service import access, l3_ports, listing, quotas

LOG = logging.getLogger(__name__)

_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_TUNNEL_TYPES = ("vxlan", "geneve", "gre")
_MAX_SEGMENT = {"vlan": 4094, "vxlan": (1 << 24) - 1, "geneve": (1 << 24) - 1,
                "gre": (1 << 32) - 1}
DHCP_OWNER = "network:dhcp"
# Attributes only an admin may set (each has a `<verb>_network:<attr>` rule).
_ADMIN_FLAGS = ("shared", "router:external", "is_default")


async def to_dicts(session: AsyncSession, rows: Sequence[NetworkRow]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    subnets: dict[str, list[str]] = {i: [] for i in ids}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        found = await session.execute(select(SubnetRow.network_id, SubnetRow.id)
                                      .where(SubnetRow.network_id.in_(chunk)))
        for network_id, subnet_id in found:
            subnets[network_id].append(subnet_id)
    tags = await access.tags_of(session, ids)
    return [_to_dict(row, sorted(subnets[row.id]), tags[row.id]) for row in rows]


def _to_dict(row: NetworkRow, subnets: list[str], tags: list[str]) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "status": row.status, "subnets": subnets,
            "admin_state_up": row.admin_state_up, "shared": row.shared,
            "router:external": row.external, "is_default": row.is_default, "mtu": row.mtu,
            "port_security_enabled": row.port_security_enabled,
            "availability_zone_hints": list(row.availability_zone_hints),
            "availability_zones": [],
            "provider:network_type": row.network_type,
            "provider:physical_network": row.physical_network,
            "provider:segmentation_id": row.segmentation_id,
            **access.standard_attrs(row, row.project_id, tags)}


async def _segment(session: AsyncSession, deps: NetworkDeps,
                   attrs: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """The network's segment (type, physical network, id), validated like ML2's type drivers."""
    if not any(attrs.get(k) is not None for k in _PROVIDER):
        return deps.config.tenant_network_type, None, None
    kind = attrs.get("provider:network_type")
    physnet = attrs.get("provider:physical_network")
    segment = attrs.get("provider:segmentation_id")
    if kind is None:
        raise errors.InvalidInput(error_message="provider:network_type required")
    if kind == "local" and (physnet or segment is not None):
        raise errors.InvalidInput(error_message="provider:physical_network and "
                                  "provider:segmentation_id prohibited for local provider network")
    if kind == "flat" and (not physnet or segment is not None):
        raise errors.InvalidInput(error_message="provider:physical_network required and "
                                  "provider:segmentation_id prohibited for flat provider network")
    if kind == "vlan" and not physnet:
        raise errors.InvalidInput(error_message="provider:physical_network required for VLAN "
                                  "provider network")
    if kind in _TUNNEL_TYPES and physnet:
        raise errors.InvalidInput(error_message=f"provider:physical_network specified for "
                                  f"{kind} network")
    if kind in _MAX_SEGMENT and segment is not None and not 1 <= segment <= _MAX_SEGMENT[kind]:
        raise errors.InvalidInput(error_message=f"provider:segmentation_id out of range (1 "
                                  f"through {_MAX_SEGMENT[kind]})")
    if kind in _MAX_SEGMENT and segment is None:
        used = set((await session.scalars(select(NetworkRow.segmentation_id).where(
            NetworkRow.network_type == kind, NetworkRow.physical_network == physnet))).all())
        segment = next(i for i in range(1, _MAX_SEGMENT[kind] + 1) if i not in used)
    elif segment is not None:
        clash = await session.scalar(select(NetworkRow.id).where(
            NetworkRow.network_type == kind, NetworkRow.physical_network == physnet,
            NetworkRow.segmentation_id == segment))
        if clash:
            raise errors.SegmentationIdInUse(vlan_id=segment, physical_network=physnet)
    return kind, physnet, segment


async def create_networks(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    """All the networks of a (bulk) request in one transaction, or none of them."""
    items, bulk = schemas.items_of("network", body)
    prepared = [schemas.prepare("network", item, create=True) for item in items]
    async with deps.write() as session:
        rows = [await _create(session, deps, ctx, attrs) for attrs in prepared]
        await session.flush()
        created = await to_dicts(session, rows)
    LOG.info("networks %s created", [n["id"] for n in created])
    return created, bulk


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> NetworkRow:
    project_id = access.check_project(ctx, attrs)
    target = {"project_id": project_id, "tenant_id": project_id}
    given = [k for k, val in attrs.items() if k in _ADMIN_FLAGS and val] + \
        [k for k in _PROVIDER if attrs.get(k) is not None]
    access.authorize(deps, ctx, "create_network", target, given)
    mtu = attrs.get("mtu", deps.config.mtu)
    if mtu > deps.config.mtu:
        raise errors.InvalidInput(error_message=f"Requested MTU is too big, maximum is "
                                                f"{deps.config.mtu}")
    await quotas.enforce(session, deps, project_id, "network")
    if attrs["is_default"]:
        await _check_default(session, None)
    kind, physnet, segment = await _segment(session, deps, attrs)
    now = db.utcnow()
    row = NetworkRow(id=str(uuid.uuid4()), project_id=project_id, name=attrs["name"],
                     description=attrs["description"], status="ACTIVE",
                     admin_state_up=attrs["admin_state_up"], shared=attrs["shared"],
                     external=attrs["router:external"], mtu=mtu,
                     port_security_enabled=attrs["port_security_enabled"],
                     availability_zone_hints=attrs["availability_zone_hints"],
                     network_type=kind, physical_network=physnet, segmentation_id=segment,
                     is_default=attrs["is_default"], created_at=now, updated_at=now, revision_number=0)
    session.add(row)
    return row


async def get_network(deps: NetworkDeps, ctx: RequestContext, network_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row = await access.visible_network(session, ctx, network_id)
        deps.authorize(ctx, "get_network", access.network_target(row))
        return (await to_dicts(session, [row]))[0]


async def list_networks(deps: NetworkDeps, ctx: RequestContext,
                        query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_network", {"project_id": ctx.project_id})
    statement = select(NetworkRow)
    if (visible := access.network_visibility(ctx)) is not None:
        statement = statement.where(visible)
    if ids := query.filters.get("id"):
        statement = statement.where(NetworkRow.id.in_(ids))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_network(deps: NetworkDeps, ctx: RequestContext, network_id: str,
                         body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("network", schemas.update_item("network", body), create=False)
    if "project_id" in attrs:
        raise errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row = await access.visible_network(session, ctx, network_id, for_update=True)
        target = access.network_target(row)
        access.authorize(deps, ctx, "update_network", target,
                         [k for k in attrs if k in _ADMIN_FLAGS])
        if "mtu" in attrs and attrs["mtu"] > deps.config.mtu:
            raise errors.InvalidInput(error_message=f"Requested MTU is too big, maximum is "
                                                    f"{deps.config.mtu}")
        if attrs.get("shared") is False and row.shared:
            await _check_unshare(session, row)
        if attrs.get("is_default") and not row.is_default:
            await _check_default(session, row.id)
        for key, column in (("name", "name"), ("description", "description"),
                            ("admin_state_up", "admin_state_up"), ("shared", "shared"),
                            ("router:external", "external"), ("mtu", "mtu"),
                            ("port_security_enabled", "port_security_enabled"),
                            ("is_default", "is_default")):
            if key in attrs:
                setattr(row, column, attrs[key])
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def _check_default(session: AsyncSession, network_id: str | None) -> None:
    """One default external network at most (auto-allocation gets its gateway there)."""
    found = await session.scalar(select(NetworkRow.id).where(NetworkRow.is_default.is_(True))
                                 .with_for_update())
    if found is not None and found != network_id:
        raise errors.DefaultExternalNetworkExists(net_id=network_id or "", default_net_id=found)


async def _check_unshare(session: AsyncSession, row: NetworkRow) -> None:
    others = await session.scalar(select(PortRow.id).where(
        PortRow.network_id == row.id, PortRow.project_id != row.project_id,
        PortRow.device_owner != DHCP_OWNER).limit(1))
    if others:
        raise errors.InvalidSharedSetting(network=row.name or row.id)


async def delete_network(deps: NetworkDeps, ctx: RequestContext, network_id: str) -> None:
    async with deps.write() as session:
        row = await access.visible_network(session, ctx, network_id, for_update=True)
        deps.authorize(ctx, "delete_network", access.network_target(row))
        await l3_ports.before_network_delete(session, network_id)
        in_use = await session.scalar(select(PortRow.id).where(
            PortRow.network_id == network_id, PortRow.device_owner != DHCP_OWNER).limit(1))
        if in_use:
            raise errors.NetworkInUse(net_id=network_id)
        subnet_ids = (await session.scalars(select(SubnetRow.id).where(
            SubnetRow.network_id == network_id))).all()
        port_ids = (await session.scalars(select(PortRow.id).where(
            PortRow.network_id == network_id))).all()
        gone = [network_id, *subnet_ids, *port_ids]
        await session.execute(delete(TagRow).where(TagRow.resource_id.in_(gone)))
        await session.execute(delete(PortRow).where(PortRow.network_id == network_id))
        await session.execute(delete(SubnetRow).where(SubnetRow.network_id == network_id))
        await session.delete(row)
    LOG.info("network %s deleted", network_id)
