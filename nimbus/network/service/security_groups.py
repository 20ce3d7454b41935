"""Security groups: create, show, list, update, delete, and each project's `default` group.

A project's `default` group appears on first use (its first list or show of groups, or its
first port) with Neutron's four rules: ingress from members of the same group and egress to
anywhere, for IPv4 and for IPv6. Only an admin may delete it; no one may rename it. A group
that ports still use cannot be deleted (409 SecurityGroupInUse).

Ports keep their groups' ids in `network_ports.security_groups`; `port_groups` is what the
ports service calls to fill and check that list.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db, errors
from nimbus.core.context import RequestContext
from nimbus.network import errors as net_errors
from nimbus.network import schemas
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import (
    DefaultSecurityGroupRow,
    PortRow,
    SecurityGroupRow,
    SecurityGroupRuleRow,
    TagRow,
)
from nimbus.network.service import access, listing, quotas, security_group_rules

LOG = logging.getLogger(__name__)

DEFAULT_NAME = "default"
# Ports the network itself owns (router interfaces, DHCP, floating IPs) are trusted: no groups.
TRUSTED_OWNER_PREFIX = "network:"


async def to_dicts(session: AsyncSession, rows: Sequence[SecurityGroupRow]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    rules = await security_group_rules.rules_of(session, ids)
    tags = await access.tags_of(session, ids)
    return [{"id": row.id, "name": row.name, "stateful": row.stateful, "shared": False,
             "security_group_rules": rules[row.id],
             **access.standard_attrs(row, row.project_id, tags[row.id])} for row in rows]


async def visible_group(session: AsyncSession, ctx: RequestContext,
                        group_id: str) -> SecurityGroupRow:
    row = await session.get(SecurityGroupRow, group_id)
    if row is None or not ctx.may_see(row.project_id):
        raise net_errors.SecurityGroupNotFound(id=group_id)
    return row


def target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


async def _default_id(session: AsyncSession, project_id: str) -> str | None:
    found = await session.get(DefaultSecurityGroupRow, project_id)
    return None if found is None else found.security_group_id


async def _create_default(session: AsyncSession, project_id: str) -> str:
    now = db.utcnow()
    group = SecurityGroupRow(id=str(uuid.uuid4()), project_id=project_id, name=DEFAULT_NAME,
                             description="Default security group", stateful=True,
                             created_at=now, updated_at=now, revision_number=0)
    session.add(group)
    await session.flush()
    session.add(DefaultSecurityGroupRow(project_id=project_id, security_group_id=group.id))
    for ethertype in ("IPv4", "IPv6"):
        for direction, remote in (("ingress", group.id), ("egress", None)):
            session.add(SecurityGroupRuleRow(
                id=str(uuid.uuid4()), project_id=project_id, security_group_id=group.id,
                remote_group_id=remote, direction=direction, ethertype=ethertype,
                created_at=now, updated_at=now, revision_number=0))
    await session.flush()
    LOG.info("default security group %s created for project %s", group.id, project_id)
    return group.id


async def ensure_default(deps: NetworkDeps, project_id: str) -> str:
    """The id of the project's `default` group, created (in its own transaction) if missing.

    Safe under concurrency: of two first uses, one creates the group and the other, refused by
    the primary key of `network_default_security_groups`, reads it.
    """
    async with deps.read() as session:
        found = await _default_id(session, project_id)
    if found is not None:
        return found
    try:
        async with deps.write() as session:
            return await _default_id(session, project_id) or \
                await _create_default(session, project_id)
    except errors.Conflict:
        async with deps.read() as session:
            found = await _default_id(session, project_id)
        if found is None:
            raise
        return found


async def port_groups(session: AsyncSession, ctx: RequestContext, project_id: str,
                      requested: list[str] | None, *, port_security: bool,
                      device_owner: str) -> list[str]:
    """The groups a port gets: `requested` once each is checked to be visible to the caller
    (404 SecurityGroupNotFound otherwise), else the project's `default` group when the port has
    port security and is not a network-owned port.

    Call `ensure_default` before the port's transaction: created here, the default group of a
    brand-new project would make concurrent first ports conflict.
    """
    if requested is not None:
        for group_id in requested:
            await visible_group(session, ctx, group_id)
        return list(requested)
    if not port_security or device_owner.startswith(TRUSTED_OWNER_PREFIX):
        return []
    found = await _default_id(session, project_id)
    return [found or await _create_default(session, project_id)]


async def create_security_groups(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    items, bulk = schemas.items_of("security_group", body)
    prepared = [schemas.prepare("security_group", item, create=True) for item in items]
    for project_id in {access.check_project(ctx, attrs) for attrs in prepared}:
        await ensure_default(deps, project_id)
    async with deps.write() as session:
        rows = [await _create(session, deps, ctx, attrs) for attrs in prepared]
        await session.flush()
        created = await to_dicts(session, rows)
    LOG.info("security groups %s created", [g["id"] for g in created])
    return created, bulk


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> SecurityGroupRow:
    project_id = access.check_project(ctx, attrs)
    deps.authorize(ctx, "create_security_group", target(project_id))
    await quotas.enforce(session, deps, project_id, "security_group")
    now = db.utcnow()
    row = SecurityGroupRow(id=str(uuid.uuid4()), project_id=project_id, name=attrs["name"],
                           description=attrs["description"], stateful=attrs["stateful"],
                           created_at=now, updated_at=now, revision_number=0)
    session.add(row)
    await session.flush()
    # Neutron gives every new group the two egress rules of the default group.
    await quotas.enforce(session, deps, project_id, "security_group_rule", adding=2)
    for ethertype in ("IPv4", "IPv6"):
        session.add(SecurityGroupRuleRow(
            id=str(uuid.uuid4()), project_id=project_id, security_group_id=row.id,
            direction="egress", ethertype=ethertype, created_at=now, updated_at=now,
            revision_number=0))
    return row


async def get_security_group(deps: NetworkDeps, ctx: RequestContext,
                             group_id: str) -> dict[str, Any]:
    if ctx.project_id:
        await ensure_default(deps, ctx.project_id)
    async with deps.read() as session:
        row = await visible_group(session, ctx, group_id)
        deps.authorize(ctx, "get_security_group", target(row.project_id))
        return (await to_dicts(session, [row]))[0]


async def list_security_groups(deps: NetworkDeps, ctx: RequestContext,
                               query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_security_group", target(ctx.project_id or ""))
    if ctx.project_id:
        await ensure_default(deps, ctx.project_id)
    statement = select(SecurityGroupRow)
    if not ctx.is_admin:
        statement = statement.where(SecurityGroupRow.project_id == (ctx.project_id or ""))
    if ids := query.filters.get("id"):
        statement = statement.where(SecurityGroupRow.id.in_(ids))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_security_group(deps: NetworkDeps, ctx: RequestContext, group_id: str,
                                body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("security_group", schemas.update_item("security_group", body),
                            create=False)
    if "project_id" in attrs:
        raise net_errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row = await visible_group(session, ctx, group_id)
        deps.authorize(ctx, "update_security_group", target(row.project_id))
        if "name" in attrs and row.name == DEFAULT_NAME and \
                await _default_id(session, row.project_id) == row.id:
            raise net_errors.SecurityGroupCannotUpdateDefault()
        if attrs.get("stateful", row.stateful) != row.stateful and \
                await _in_use(session, row.id):
            raise net_errors.SecurityGroupInUse(id=row.id)
        for key in ("name", "description", "stateful"):
            if key in attrs:
                setattr(row, key, attrs[key])
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def _in_use(session: AsyncSession, group_id: str) -> bool:
    # Ports hold their groups as a JSON list of ids; a UUID matches nothing but itself.
    found = await session.scalar(select(PortRow.id).where(
        cast(PortRow.security_groups, String).like(f"%{group_id}%")).limit(1))
    return found is not None


async def delete_security_group(deps: NetworkDeps, ctx: RequestContext, group_id: str) -> None:
    async with deps.write() as session:
        row = await visible_group(session, ctx, group_id)
        deps.authorize(ctx, "delete_security_group", target(row.project_id))
        if await _default_id(session, row.project_id) == row.id and not ctx.is_admin:
            raise net_errors.SecurityGroupCannotRemoveDefault()
        if await _in_use(session, row.id):
            raise net_errors.SecurityGroupInUse(id=row.id)
        await session.execute(delete(TagRow).where(TagRow.resource_id == group_id))
        await session.execute(delete(DefaultSecurityGroupRow).where(
            DefaultSecurityGroupRow.security_group_id == group_id))
        await session.execute(delete(SecurityGroupRuleRow).where(
            (SecurityGroupRuleRow.security_group_id == group_id) |
            (SecurityGroupRuleRow.remote_group_id == group_id)))
        await session.delete(row)
    LOG.info("security group %s deleted", group_id)
