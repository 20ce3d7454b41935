"""Who sees what, and the pieces every resource shares: standard attributes, tags, revisions.

A network is visible to its project, to admins, and to everyone when it is shared or external.
A subnet is visible when its network is; a port to its project and to its network's project.
Something invisible is "not found", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.core.policy import PolicyNotAuthorized
from nimbus.network import errors
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import NetworkRow, PortRow, StandardAttrs, SubnetRow, TagRow


def timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def standard_attrs(row: StandardAttrs, project_id: str, tags: list[str]) -> dict[str, Any]:
    return {"description": row.description, "tags": tags, "created_at": timestamp(row.created_at),
            "updated_at": timestamp(row.updated_at), "revision_number": row.revision_number,
            "project_id": project_id, "tenant_id": project_id}


def touch(row: StandardAttrs) -> None:
    """A change to the resource: a new revision and update time."""
    row.revision_number += 1
    row.updated_at = db.utcnow()


async def tags_of(session: AsyncSession, ids: Iterable[str]) -> dict[str, list[str]]:
    wanted = list(ids)
    found: dict[str, list[str]] = {i: [] for i in wanted}
    for chunk in _chunks(wanted):
        rows = await session.execute(select(TagRow.resource_id, TagRow.tag)
                                     .where(TagRow.resource_id.in_(chunk)))
        for resource_id, tag in rows:
            found[resource_id].append(tag)
    for tags in found.values():
        tags.sort()
    return found


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def network_visibility(ctx: RequestContext) -> ColumnElement[bool] | None:
    """The WHERE clause of the networks `ctx` sees, or None for all of them."""
    if ctx.is_admin:
        return None
    return or_(NetworkRow.project_id == (ctx.project_id or ""), NetworkRow.shared.is_(True),
               NetworkRow.external.is_(True))


def sees_network(ctx: RequestContext, row: NetworkRow) -> bool:
    return ctx.may_see(row.project_id) or row.shared or row.external


async def visible_network(session: AsyncSession, ctx: RequestContext, network_id: str, *,
                          for_update: bool = False) -> NetworkRow:
    row = await session.get(NetworkRow, network_id, with_for_update=for_update or None)
    if row is None or not sees_network(ctx, row):
        raise errors.NetworkNotFound(net_id=network_id)
    return row


async def visible_subnet(session: AsyncSession, ctx: RequestContext,
                         subnet_id: str) -> tuple[SubnetRow, NetworkRow]:
    row = await session.get(SubnetRow, subnet_id)
    network = None if row is None else await session.get(NetworkRow, row.network_id)
    if row is None or network is None or not (ctx.may_see(row.project_id) or
                                              sees_network(ctx, network)):
        raise errors.SubnetNotFound(subnet_id=subnet_id)
    return row, network


async def visible_port(session: AsyncSession, ctx: RequestContext,
                       port_id: str) -> tuple[PortRow, NetworkRow]:
    row = await session.get(PortRow, port_id)
    network = None if row is None else await session.get(NetworkRow, row.network_id)
    if row is None or network is None or not (ctx.may_see(row.project_id) or
                                              ctx.may_see(network.project_id)):
        raise errors.PortNotFound(port_id=port_id)
    return row, network


def authorize(deps: NetworkDeps, ctx: RequestContext, rule: str, target: Mapping[str, Any],
              attrs: Iterable[str] = ()) -> None:
    """The action's rule, then `<rule>:<attr>` for each attribute given that has a rule."""
    deps.authorize(ctx, rule, target)
    for attr in attrs:
        specific = f"{rule}:{attr}"
        if specific in deps.policy.rules and not deps.allowed(ctx, specific, target):
            raise PolicyNotAuthorized(rule=specific)


def network_target(row: NetworkRow) -> dict[str, Any]:
    return {"project_id": row.project_id, "tenant_id": row.project_id, "shared": row.shared,
            "network:project_id": row.project_id, "router:external": row.external}


def check_project(ctx: RequestContext, attrs: dict[str, Any]) -> str:
    """The project a new resource belongs to: the caller's, unless an admin names another."""
    project_id = attrs.get("project_id") or ctx.project_id
    if not project_id:
        raise errors.HTTPBadRequest(detail="'project_id' must be specified")
    return str(project_id)
