"""Per-project limits on networks, subnets and ports: configured defaults, per-project values
in `network_quotas`, usage counted from the resources' own tables.

`COUNTED` maps a quota resource to the table whose rows it counts; a resource joins quotas by
adding itself there (and a default to the settings).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.network import errors
from nimbus.network import validators as v
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import (
    FloatingIpRow,
    NetworkRow,
    PortRow,
    QuotaRow,
    RouterRow,
    SecurityGroupRow,
    SecurityGroupRuleRow,
    SubnetRow,
)

Counted = (type[NetworkRow] | type[SubnetRow] | type[PortRow] | type[SecurityGroupRow]
           | type[SecurityGroupRuleRow] | type[RouterRow] | type[FloatingIpRow])
COUNTED: dict[str, Counted] = {
    "network": NetworkRow, "subnet": SubnetRow, "port": PortRow,
    "security_group": SecurityGroupRow, "security_group_rule": SecurityGroupRuleRow,
    "router": RouterRow, "floatingip": FloatingIpRow}


def defaults(deps: NetworkDeps) -> dict[str, int]:
    configured = deps.config.quotas.model_dump()
    return {name: int(configured[name]) for name in COUNTED}


async def limits(session: AsyncSession, deps: NetworkDeps, project_id: str) -> dict[str, int]:
    found = defaults(deps)
    rows = await session.execute(select(QuotaRow.resource, QuotaRow.hard_limit)
                                 .where(QuotaRow.project_id == project_id))
    for resource, limit in rows:
        if resource in found:
            found[resource] = limit
    return found


async def usage(session: AsyncSession, project_id: str, resource: str) -> int:
    table = COUNTED[resource]
    count = await session.scalar(select(func.count()).select_from(table)
                                 .where(table.project_id == project_id))
    return int(count or 0)


async def enforce(session: AsyncSession, deps: NetworkDeps, project_id: str, resource: str,
                  adding: int = 1) -> None:
    """409 OverQuota when `adding` more of `resource` would pass the project's limit."""
    limit = (await limits(session, deps, project_id))[resource]
    if limit >= 0 and await usage(session, project_id, resource) + adding > limit:
        raise errors.OverQuota(overs=f"['{resource}']")


def _authorize(deps: NetworkDeps, ctx: RequestContext, rule: str, project_id: str) -> None:
    deps.authorize(ctx, rule, {"project_id": project_id, "tenant_id": project_id})


async def list_quotas(deps: NetworkDeps, ctx: RequestContext) -> list[dict[str, Any]]:
    """The projects whose limits differ from the defaults (Neutron lists only those)."""
    deps.authorize(ctx, "update_quota", {})
    async with deps.read() as session:
        projects = (await session.scalars(select(QuotaRow.project_id).distinct())).all()
        found = []
        for project_id in sorted(projects):
            quota: dict[str, Any] = dict(await limits(session, deps, project_id))
            found.append({**quota, "project_id": project_id, "tenant_id": project_id})
        return found


async def show_quota(deps: NetworkDeps, ctx: RequestContext, project_id: str) -> dict[str, int]:
    _authorize(deps, ctx, "get_quota", project_id)
    async with deps.read() as session:
        return await limits(session, deps, project_id)


async def show_details(deps: NetworkDeps, ctx: RequestContext,
                       project_id: str) -> dict[str, dict[str, int]]:
    _authorize(deps, ctx, "get_quota", project_id)
    async with deps.read() as session:
        found = await limits(session, deps, project_id)
        return {name: {"limit": limit, "used": await usage(session, project_id, name),
                       "reserved": 0} for name, limit in found.items()}


def show_defaults(deps: NetworkDeps, ctx: RequestContext, project_id: str) -> dict[str, int]:
    _authorize(deps, ctx, "get_quota", project_id)
    return defaults(deps)


async def update_quota(deps: NetworkDeps, ctx: RequestContext, project_id: str,
                       body: Any) -> dict[str, int]:
    _authorize(deps, ctx, "update_quota", project_id)
    if not isinstance(body, dict) or not isinstance(body.get("quota"), dict):
        raise errors.HTTPBadRequest(detail="Unable to find 'quota' in request body")
    wanted: dict[str, int] = {}
    for name, value in body["quota"].items():
        if name not in COUNTED:
            if name in ("force", "check_limit"):
                continue
            raise errors.HTTPBadRequest(detail=f"Unrecognized attribute(s) '{name}'")
        try:
            wanted[name] = v.integer(-1)(value)
        except v.Invalid as exc:
            raise errors.HTTPBadRequest(detail=f"Invalid input for {name}. Reason: {exc}.") \
                from None
    async with deps.write() as session:
        for name, limit in wanted.items():
            row = await session.get(QuotaRow, (project_id, name))
            if row is None:
                session.add(QuotaRow(project_id=project_id, resource=name, hard_limit=limit))
            else:
                row.hard_limit = limit
        await session.flush()
        return await limits(session, deps, project_id)


async def delete_quota(deps: NetworkDeps, ctx: RequestContext, project_id: str) -> None:
    _authorize(deps, ctx, "delete_quota", project_id)
    async with deps.write() as session:
        await session.execute(delete(QuotaRow).where(QuotaRow.project_id == project_id))
