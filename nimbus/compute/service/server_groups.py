"""os-server-groups: a project's groups with their policy (affinity, anti-affinity and the
soft variants; max_server_per_host for anti-affinity from 2.64) and their live members.

Scheduling reads groups itself (scheduler/filters.py and weighers.py); this module only keeps
them. The server_groups quota is checked before the insert and again after the commit, so
racing creates cannot exceed it together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow, ServerGroupMemberRow, ServerGroupRow
from nimbus.compute.service import quotas
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

HARD_POLICIES = ("anti-affinity", "affinity")
SOFT_POLICIES = ("soft-anti-affinity", "soft-affinity")  # 2.15+


@dataclasses.dataclass(frozen=True)
class Group:
    uuid: str
    name: str
    project_id: str
    user_id: str
    policy: str
    rules: dict[str, Any]
    members: list[str]
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class GroupSpec:
    name: str
    policy: str
    rules: dict[str, int]


def _group(row: ServerGroupRow, members: list[str]) -> Group:
    return Group(row.uuid, row.name, row.project_id, row.user_id, row.policy, dict(row.rules or {}),
                 members, row.created_at)


def check_policy(policy: str, rules: dict[str, int], version: tuple[int, int]) -> None:
    """The policies a microversion knows, and rules only where they mean something."""
    allowed = HARD_POLICIES + (SOFT_POLICIES if version >= (2, 15) else ())
    if policy not in allowed:
        field = "policy" if version >= (2, 64) else "policies"
        raise core_errors.BadRequest(f"Invalid input for field/attribute {field}. Value: "
                                     f"{policy!r}. {policy!r} is not one of {list(allowed)}")
    if rules and policy != "anti-affinity":
        raise core_errors.BadRequest("Only anti-affinity policy supports rules.")


async def _members(session: AsyncSession, group_ids: list[int]) -> dict[int, list[str]]:
    """Live members only: a deleted server leaves its groups."""
    found: dict[int, list[str]] = {g: [] for g in group_ids}
    if group_ids:
        rows = await session.execute(
            select(ServerGroupMemberRow.group_id, ServerGroupMemberRow.instance_uuid)
            .join(InstanceRow, InstanceRow.uuid == ServerGroupMemberRow.instance_uuid)
            .where(ServerGroupMemberRow.group_id.in_(group_ids), InstanceRow.deleted_at.is_(None))
            .order_by(InstanceRow.created_at, InstanceRow.uuid))
        for group_id, member in rows.all():
            found[group_id].append(member)
    return found


async def create_group(deps: ComputeDeps, ctx: RequestContext, spec: GroupSpec,
                       version: tuple[int, int]) -> Group:
    check_policy(spec.policy, spec.rules, version)
    project_id, user_id = ctx.project_id or "", ctx.user_id or ""
    deps.policy.authorize("os_compute_api:os-server-groups:create", ctx, {"project_id": project_id})
    async with deps.write() as session:
        limit = (await quotas.limits(session, deps.settings.compute.quotas,
                                     project_id))["server_groups"]
        if 0 <= limit <= await quotas.count_server_groups(session, project_id):
            raise errors.ServerGroupLimitExceeded()
        row = ServerGroupRow(uuid=str(uuid.uuid4()), name=spec.name, project_id=project_id,
                             user_id=user_id, policy=spec.policy, rules=dict(spec.rules))
        session.add(row)
    if limit >= 0:
        async with deps.read() as session:
            over = await quotas.count_server_groups(session, project_id) > limit
        if over:
            async with deps.write() as session:
                await session.execute(delete(ServerGroupRow).where(ServerGroupRow.id == row.id))
            raise errors.ServerGroupLimitExceeded()
    return _group(row, [])


async def _row(session: AsyncSession, group_id: str) -> ServerGroupRow:
    row = (await session.execute(select(ServerGroupRow).where(
        ServerGroupRow.uuid == group_id))).scalar()
    if row is None:
        raise errors.ServerGroupNotFound(group_uuid=group_id)
    return row


async def get_group(deps: ComputeDeps, ctx: RequestContext, group_id: str) -> Group:
    async with deps.read() as session:
        row = await _row(session, group_id)
        deps.policy.authorize("os_compute_api:os-server-groups:show", ctx,
                              {"project_id": row.project_id})
        return _group(row, (await _members(session, [row.id]))[row.id])


async def list_groups(deps: ComputeDeps, ctx: RequestContext, *, all_projects: bool,
                      limit: int | None, offset: int) -> list[Group]:
    """The caller's project's groups; every project's for an admin asking `all_projects`
    (a non-admin asking gets their own, as in Nova)."""
    deps.policy.authorize("os_compute_api:os-server-groups:index", ctx,
                          {"project_id": ctx.project_id})
    query = select(ServerGroupRow).order_by(ServerGroupRow.id)
    if all_projects and ctx.is_admin:
        deps.policy.authorize("os_compute_api:os-server-groups:index:all_projects", ctx,
                              {"project_id": ctx.project_id})
    else:
        query = query.where(ServerGroupRow.project_id == (ctx.project_id or ""))
    page = min(limit or deps.settings.compute.max_limit, deps.settings.compute.max_limit)
    query = query.offset(offset).limit(page)
    async with deps.read() as session:
        rows = list((await session.execute(query)).scalars())
        members = await _members(session, [r.id for r in rows])
    return [_group(r, members[r.id]) for r in rows]


async def delete_group(deps: ComputeDeps, ctx: RequestContext, group_id: str) -> None:
    async with deps.write() as session:
        row = await _row(session, group_id)
        deps.policy.authorize("os_compute_api:os-server-groups:delete", ctx,
                              {"project_id": row.project_id})
        await session.execute(delete(ServerGroupMemberRow).where(
            ServerGroupMemberRow.group_id == row.id))
        await session.delete(row)
