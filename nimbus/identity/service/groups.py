"""Groups and their members (`/v3/groups`, `/v3/users/{id}/groups`).

Roles granted to a group reach its members through `effective`, which token validation
re-runs after every identity write: removing a member makes the tokens that relied on the
group's roles fail (or lose those roles) at once, with no revocation event needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import GroupRow, MembershipRow, UserRow
from nimbus.identity.service import domains, users
from nimbus.identity.service.ids import new_id

_CORE = ("name", "domain_id", "description")


def group_ref(row: GroupRow) -> dict[str, Any]:
    return {**(row.extra or {}), "id": row.id, "name": row.name, "domain_id": row.domain_id,
            "description": row.description}


async def require_group(session: AsyncSession, group_id: str) -> GroupRow:
    row = await session.get(GroupRow, group_id) if domains.valid_id(group_id) else None
    if row is None:
        raise id_errors.GroupNotFound(group_id=group_id)
    return row


def _target(group_id: str, user_id: str | None = None) -> dict[str, Any]:
    return {"target": {"group": {"id": group_id}, "user": {"id": user_id}}}


async def _check_name_free(session: AsyncSession, domain_id: str, name: str) -> None:
    if await session.scalar(select(GroupRow.id).where(
            GroupRow.domain_id == domain_id, GroupRow.name == name)) is not None:
        raise id_errors.DuplicateEntry(kind="group", field="name", value=name)


# --- groups ------------------------------------------------------------------------------

async def list_groups(deps: IdentityDeps, ctx: RequestContext, *, domain_id: str | None = None,
                      name: str | None = None) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_groups", ctx, {})
    query = select(GroupRow).order_by(GroupRow.name)
    if domain_id is not None:
        query = query.where(GroupRow.domain_id == domain_id)
    if name is not None:
        query = query.where(GroupRow.name == name)
    async with deps.read() as session:
        return [group_ref(row) for row in (await session.execute(query)).scalars()]


async def get_group(deps: IdentityDeps, ctx: RequestContext, group_id: str) -> dict[str, Any]:
    deps.policy.authorize("identity:get_group", ctx, _target(group_id))
    async with deps.read() as session:
        return group_ref(await require_group(session, group_id))


async def create_group(deps: IdentityDeps, ctx: RequestContext, *, name: str,
                       domain_id: str | None = None, description: str | None = "",
                       extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create a group in `domain_id` (by default the token's domain; 404 if unknown); 409 if
    the name is taken in the domain."""
    domain_id = domains.domain_for_create(ctx, domain_id)
    deps.policy.authorize("identity:create_group", ctx,
                          {"target": {"group": {"domain_id": domain_id}}})
    async with deps.write() as session:
        await domains.require_domain(session, domain_id)
        await _check_name_free(session, domain_id, name)
        row = GroupRow(id=new_id(), name=name, domain_id=domain_id, description=description,
                       extra=domains.clean_extra(extra or {}))
        session.add(row)
        await domains.flush_unique(session, "group", name)
        return group_ref(row)


async def update_group(deps: IdentityDeps, ctx: RequestContext, group_id: str,
                       changes: Mapping[str, Any]) -> dict[str, Any]:
    deps.policy.authorize("identity:update_group", ctx, _target(group_id))
    changes = dict(changes)
    if changes.pop("id", group_id) != group_id:
        raise id_errors.ValidationError(detail="Cannot change ID")
    async with deps.write() as session:
        row = await require_group(session, group_id)
        if changes.get("domain_id", row.domain_id) != row.domain_id:
            raise id_errors.ValidationError(detail="Cannot change Domain ID")
        if "name" in changes and changes["name"] != row.name:
            await _check_name_free(session, row.domain_id, changes["name"])
            row.name = changes["name"]
        if "description" in changes:
            row.description = changes["description"]
        extra = domains.clean_extra({k: v for k, v in changes.items() if k not in _CORE})
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await domains.flush_unique(session, "group", row.name)
        return group_ref(row)


async def delete_group(deps: IdentityDeps, ctx: RequestContext, group_id: str) -> None:
    """Delete the group with its memberships and grants; members lose its roles at once."""
    deps.policy.authorize("identity:delete_group", ctx, _target(group_id))
    async with deps.write() as session:
        await require_group(session, group_id)
        await domains.purge_groups(session, [group_id])


# --- membership --------------------------------------------------------------------------

async def list_users_in_group(deps: IdentityDeps, ctx: RequestContext, group_id: str,
                              filters: users.UserFilters) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_users_in_group", ctx, _target(group_id))
    async with deps.read() as session:
        await require_group(session, group_id)
        rows = await session.execute(select(UserRow).join(
            MembershipRow, MembershipRow.user_id == UserRow.id).where(
            MembershipRow.group_id == group_id, *users.user_conditions(filters)
        ).order_by(UserRow.name))
        return [users.user_ref(row) for row in rows.scalars()]


async def list_groups_for_user(deps: IdentityDeps, ctx: RequestContext,
                               user_id: str) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_groups_for_user", ctx,
                          {"target": {"user": {"id": user_id}}})
    async with deps.read() as session:
        await users.require_user(session, user_id)
        rows = await session.execute(select(GroupRow).join(
            MembershipRow, MembershipRow.group_id == GroupRow.id).where(
            MembershipRow.user_id == user_id).order_by(GroupRow.name))
        return [{**group_ref(row), "membership_expires_at": None} for row in rows.scalars()]


async def _membership(session: AsyncSession, group_id: str, user_id: str) -> MembershipRow | None:
    await require_group(session, group_id)
    await users.require_user(session, user_id)
    return await session.get(MembershipRow, (user_id, group_id))


async def add_user_to_group(deps: IdentityDeps, ctx: RequestContext, group_id: str,
                            user_id: str) -> None:
    """Idempotent: adding a member twice is fine. 404 for an unknown group or user."""
    deps.policy.authorize("identity:add_user_to_group", ctx, _target(group_id, user_id))
    async with deps.write() as session:
        if await _membership(session, group_id, user_id) is None:
            session.add(MembershipRow(user_id=user_id, group_id=group_id))


async def check_user_in_group(deps: IdentityDeps, ctx: RequestContext, group_id: str,
                              user_id: str) -> None:
    deps.policy.authorize("identity:check_user_in_group", ctx, _target(group_id, user_id))
    async with deps.read() as session:
        if await _membership(session, group_id, user_id) is None:
            raise id_errors.UserNotInGroup(user_id=user_id, group_id=group_id)


async def remove_user_from_group(deps: IdentityDeps, ctx: RequestContext, group_id: str,
                                 user_id: str) -> None:
    deps.policy.authorize("identity:remove_user_from_group", ctx, _target(group_id, user_id))
    async with deps.write() as session:
        if await _membership(session, group_id, user_id) is None:
            raise id_errors.UserNotInGroup(user_id=user_id, group_id=group_id)
        await session.execute(delete(MembershipRow).where(
            MembershipRow.user_id == user_id, MembershipRow.group_id == group_id))
