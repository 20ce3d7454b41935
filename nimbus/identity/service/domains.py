"""Domains (`/v3/domains`), and what deleting an identity object takes with it.

A domain owns projects, users and groups. Deleting any of them also deletes the rows that
refer to it (role assignments, group memberships, application credentials, credentials,
project tags) in the caller's transaction, so a delete is all or nothing; the `purge_*`
functions here are shared by the project, user and group services for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import (
    ApplicationCredentialRow,
    AssignmentRow,
    CredentialRow,
    DomainRow,
    GroupRow,
    ImpliedRoleRow,
    MembershipRow,
    ProjectRow,
    ProjectTagRow,
    RoleRow,
    UserRow,
)
from nimbus.identity.service import revocation
from nimbus.identity.service.ids import new_id

# Created by bootstrap; the admin user lives there, so it is never disabled or deleted.
DEFAULT_DOMAIN_ID = "default"
# Attributes a client may send back but that are never stored as extra attributes.
NOT_EXTRA = frozenset({"id", "links", "password", "original_password"})


def valid_id(value: str) -> bool:
    """Whether `value` can be an id at all; others are unknown without asking the database
    (PostgreSQL refuses NUL characters rather than finding nothing)."""
    return 0 < len(value) <= 64 and "\x00" not in value


def clean_extra(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in NOT_EXTRA}


def domain_ref(row: DomainRow) -> dict[str, Any]:
    return {"options": {}, "tags": [], **(row.extra or {}), "id": row.id, "name": row.name,
            "description": row.description, "enabled": row.enabled}


def domain_for_create(ctx: RequestContext, given: str | None) -> str:
    """Keystone's default owner of a new project, user or group: the token's domain."""
    return given or ctx.domain_id or ctx.project_domain_id or DEFAULT_DOMAIN_ID


async def require_domain(session: AsyncSession, domain_id: str) -> DomainRow:
    row = await session.get(DomainRow, domain_id) if valid_id(domain_id) else None
    if row is None:
        raise id_errors.DomainNotFound(domain_id=domain_id)
    return row


async def flush_unique(session: AsyncSession, kind: str, name: str) -> None:
    """Flush, turning a unique-index race into Keystone's 409 rather than a generic one."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise id_errors.DuplicateEntry(kind=kind, field="name", value=name) from exc


def _target(domain_id: str) -> dict[str, Any]:
    return {"target": {"domain": {"id": domain_id}}}


# --- the API -----------------------------------------------------------------------------

async def list_domains(deps: IdentityDeps, ctx: RequestContext, *, name: str | None = None,
                       enabled: bool | None = None) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_domains", ctx, {})
    query = select(DomainRow).order_by(DomainRow.name)
    if name is not None:
        query = query.where(DomainRow.name == name)
    if enabled is not None:
        query = query.where(DomainRow.enabled.is_(enabled))
    async with deps.read() as session:
        return [domain_ref(row) for row in (await session.execute(query)).scalars()]


async def get_domain(deps: IdentityDeps, ctx: RequestContext, domain_id: str) -> dict[str, Any]:
    deps.policy.authorize("identity:get_domain", ctx, _target(domain_id))
    async with deps.read() as session:
        return domain_ref(await require_domain(session, domain_id))


async def create_domain(deps: IdentityDeps, ctx: RequestContext, *, name: str,
                        description: str | None = "", enabled: bool = True,
                        explicit_id: str | None = None,
                        extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    deps.policy.authorize("identity:create_domain", ctx, {"target": {"domain": {"name": name}}})
    async with deps.write() as session:
        return domain_ref(await add_domain(session, name=name, description=description,
                                           enabled=enabled, explicit_id=explicit_id,
                                           extra=extra or {}))


async def add_domain(session: AsyncSession, *, name: str, description: str | None,
                     enabled: bool, explicit_id: str | None,
                     extra: Mapping[str, Any]) -> DomainRow:
    """Insert a domain (also how `POST /projects` with is_domain creates one)."""
    if explicit_id is not None and await session.get(DomainRow, explicit_id) is not None:
        raise id_errors.DuplicateEntry(kind="domain", field="id", value=explicit_id)
    await _check_name_free(session, name)
    row = DomainRow(id=explicit_id or new_id(), name=name, description=description,
                    enabled=enabled, extra=clean_extra(extra))
    session.add(row)
    await flush_unique(session, "domain", name)
    return row


async def _check_name_free(session: AsyncSession, name: str) -> None:
    taken = (await session.execute(select(DomainRow.id).where(DomainRow.name == name))).first()
    if taken is not None:
        raise id_errors.DuplicateEntry(kind="domain", field="name", value=name)


async def update_domain(deps: IdentityDeps, ctx: RequestContext, domain_id: str,
                        changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `changes` (only the attributes the client sent). Disabling a domain makes
    every token scoped to it, or to its projects, or held by its users fail at once."""
    deps.policy.authorize("identity:update_domain", ctx, _target(domain_id))
    changes = dict(changes)
    if changes.pop("id", domain_id) != domain_id:
        raise id_errors.ValidationError(detail="Cannot change ID")
    async with deps.write() as session:
        row = await require_domain(session, domain_id)
        if "name" in changes and changes["name"] != row.name:
            await _check_name_free(session, changes["name"])
            row.name = changes["name"]
        if "description" in changes:
            row.description = changes["description"]
        if "enabled" in changes and changes["enabled"] != row.enabled:
            if not changes["enabled"] and row.id == DEFAULT_DOMAIN_ID:
                raise errors.Forbidden("The default domain cannot be disabled.")
            row.enabled = changes["enabled"]
            if not row.enabled:
                await revocation.record(session, domain_id=row.id)
        extra = clean_extra({k: v for k, v in changes.items()
                             if k not in ("name", "description", "enabled")})
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await flush_unique(session, "domain", row.name)
        return domain_ref(row)


async def delete_domain(deps: IdentityDeps, ctx: RequestContext, domain_id: str) -> None:
    """Delete a disabled domain with everything it owns: projects, users, groups, its
    domain-specific roles, and every grant, membership and credential that refers to them."""
    deps.policy.authorize("identity:delete_domain", ctx, _target(domain_id))
    async with deps.write() as session:
        row = await require_domain(session, domain_id)
        if row.id == DEFAULT_DOMAIN_ID:
            raise errors.Forbidden("The default domain cannot be deleted.")
        if row.enabled:
            raise errors.Forbidden(
                "Cannot delete a domain that is enabled, please disable it first.")
        owned = select(ProjectRow.id).where(ProjectRow.domain_id == domain_id)
        await purge_projects(session, list((await session.execute(owned)).scalars()))
        owned = select(UserRow.id).where(UserRow.domain_id == domain_id)
        await purge_users(session, list((await session.execute(owned)).scalars()))
        owned = select(GroupRow.id).where(GroupRow.domain_id == domain_id)
        await purge_groups(session, list((await session.execute(owned)).scalars()))
        await session.execute(delete(AssignmentRow).where(
            AssignmentRow.type.in_(("UserDomain", "GroupDomain")),
            AssignmentRow.target_id == domain_id))
        role_ids = list((await session.execute(
            select(RoleRow.id).where(RoleRow.domain_id == domain_id))).scalars())
        if role_ids:
            await session.execute(delete(AssignmentRow).where(AssignmentRow.role_id.in_(role_ids)))
            await session.execute(delete(ImpliedRoleRow).where(or_(
                ImpliedRoleRow.prior_role_id.in_(role_ids),
                ImpliedRoleRow.implied_role_id.in_(role_ids))))
            await session.execute(delete(RoleRow).where(RoleRow.id.in_(role_ids)))
        await session.delete(row)
        await revocation.record(session, domain_id=domain_id)


# --- cascades ----------------------------------------------------------------------------

async def purge_projects(session: AsyncSession, project_ids: Sequence[str]) -> None:
    """Delete the projects, their tags, grants on them, and credentials scoped to them."""
    if not project_ids:
        return
    ids = list(project_ids)
    await session.execute(delete(AssignmentRow).where(
        AssignmentRow.type.in_(("UserProject", "GroupProject")),
        AssignmentRow.target_id.in_(ids)))
    await session.execute(delete(ApplicationCredentialRow).where(
        ApplicationCredentialRow.project_id.in_(ids)))
    await session.execute(delete(CredentialRow).where(CredentialRow.project_id.in_(ids)))
    await session.execute(delete(ProjectTagRow).where(ProjectTagRow.project_id.in_(ids)))
    await session.execute(delete(ProjectRow).where(ProjectRow.id.in_(ids)))


async def purge_users(session: AsyncSession, user_ids: Sequence[str]) -> None:
    """Delete the users with their memberships, grants, application credentials and
    credentials."""
    if not user_ids:
        return
    ids = list(user_ids)
    await session.execute(delete(MembershipRow).where(MembershipRow.user_id.in_(ids)))
    await session.execute(delete(AssignmentRow).where(
        AssignmentRow.type.in_(("UserProject", "UserDomain", "UserSystem")),
        AssignmentRow.actor_id.in_(ids)))
    await session.execute(delete(ApplicationCredentialRow).where(
        ApplicationCredentialRow.user_id.in_(ids)))
    await session.execute(delete(CredentialRow).where(CredentialRow.user_id.in_(ids)))
    await session.execute(delete(UserRow).where(UserRow.id.in_(ids)))


async def purge_groups(session: AsyncSession, group_ids: Sequence[str]) -> None:
    """Delete the groups with their memberships and grants."""
    if not group_ids:
        return
    ids = list(group_ids)
    await session.execute(delete(MembershipRow).where(MembershipRow.group_id.in_(ids)))
    await session.execute(delete(AssignmentRow).where(
        AssignmentRow.type.in_(("GroupProject", "GroupDomain", "GroupSystem")),
        AssignmentRow.actor_id.in_(ids)))
    await session.execute(delete(GroupRow).where(GroupRow.id.in_(ids)))
