"""Users (`/v3/users`): CRUD, password changes, and the groups a user belongs to.

Passwords are hashed off the event loop before a transaction opens, are never stored as
extra attributes and never leave this module. Every change that should end a user's
sessions (a new password, disabling, deleting) records a revocation event in the same
transaction, so the user's existing tokens fail at once and stay failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db, errors
from nimbus.core.context import RequestContext
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import DomainRow, UserRow
from nimbus.identity.service import domains, passwords, revocation
from nimbus.identity.service.ids import new_id

_CORE = ("name", "domain_id", "enabled", "default_project_id", "options", "password")
# Keystone's user resource options; stored and shown, only lock_password is enforced here.
USER_OPTIONS = frozenset({
    "ignore_change_password_upon_first_use", "ignore_password_expiry",
    "ignore_lockout_failure_attempts", "lock_password", "multi_factor_auth_enabled",
    "multi_factor_auth_rules", "ignore_user_inactivity"})
ExpiryOp = Literal["lt", "lte", "gt", "gte", "eq", "neq"]


@dataclasses.dataclass(frozen=True)
class UserFilters:
    domain_id: str | None = None
    name: str | None = None
    enabled: bool | None = None
    # Keystone's `password_expires_at={op}:{timestamp}`
    password_expires: tuple[ExpiryOp, dt.datetime] | None = None


def _iso(when: dt.datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") if when is not None else None


def user_ref(row: UserRow) -> dict[str, Any]:
    ref = {**(row.extra or {}), "id": row.id, "name": row.name, "domain_id": row.domain_id,
           "enabled": row.enabled, "password_expires_at": _iso(row.password_expires_at),
           "options": dict(row.options or {})}
    if row.default_project_id is not None:
        ref["default_project_id"] = row.default_project_id
    return ref


async def require_user(session: AsyncSession, user_id: str) -> UserRow:
    row = await session.get(UserRow, user_id) if domains.valid_id(user_id) else None
    if row is None:
        raise id_errors.UserNotFound(user_id=user_id)
    return row


def _target(user_id: str, domain_id: str | None = None) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id, "domain_id": domain_id}}}


def user_conditions(f: UserFilters) -> list[ColumnElement[bool]]:
    """SQL conditions for the list filters (shared with `GET /groups/{id}/users`)."""
    conditions: list[ColumnElement[bool]] = []
    if f.domain_id is not None:
        conditions.append(UserRow.domain_id == f.domain_id)
    if f.name is not None:
        conditions.append(UserRow.name == f.name)
    if f.enabled is not None:
        conditions.append(UserRow.enabled.is_(f.enabled))
    if f.password_expires is not None:
        op, when = f.password_expires
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
        column = UserRow.password_expires_at
        conditions.append({"lt": column < when, "lte": column <= when, "gt": column > when,
                           "gte": column >= when, "eq": column == when,
                           "neq": column != when}[op])
    return conditions


def _check_options(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - USER_OPTIONS)
    if unknown:
        raise id_errors.ValidationError(detail=f"Invalid user option(s): {', '.join(unknown)}.")


async def _hash(deps: IdentityDeps, password: str | None) -> str | None:
    if password is None:
        return None
    if len(password) > deps.settings.identity.max_password_length:
        raise id_errors.ValidationError(detail="The password is too long.")
    return await passwords.hash_password(password, deps.settings.identity.bcrypt_rounds)


async def _check_default_project(session: AsyncSession, project_id: str | None) -> None:
    # The project need not exist (Keystone ignores an invalid one at login), but a domain
    # can never be a default project.
    if project_id is not None and await session.get(DomainRow, project_id) is not None:
        raise id_errors.ValidationError(detail="The default project cannot be a domain.")


# --- the API -----------------------------------------------------------------------------

async def list_users(deps: IdentityDeps, ctx: RequestContext,
                     filters: UserFilters) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_users", ctx, {})
    query = select(UserRow).where(*user_conditions(filters)).order_by(UserRow.name)
    async with deps.read() as session:
        return [user_ref(row) for row in (await session.execute(query)).scalars()]


async def get_user(deps: IdentityDeps, ctx: RequestContext, user_id: str) -> dict[str, Any]:
    deps.policy.authorize("identity:get_user", ctx, _target(user_id))
    async with deps.read() as session:
        return user_ref(await require_user(session, user_id))


async def create_user(deps: IdentityDeps, ctx: RequestContext, *, name: str,
                      domain_id: str | None = None, password: str | None = None,
                      enabled: bool = True, default_project_id: str | None = None,
                      options: Mapping[str, Any] | None = None,
                      extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create a user in `domain_id` (by default the token's domain; 404 if unknown); 409 if
    the name is taken in the domain."""
    domain_id = domains.domain_for_create(ctx, domain_id)
    deps.policy.authorize("identity:create_user", ctx, _target("", domain_id))
    _check_options(options or {})
    password_hash = await _hash(deps, password)
    async with deps.write() as session:
        await domains.require_domain(session, domain_id)
        await _check_default_project(session, default_project_id)
        await _check_name_free(session, domain_id, name)
        row = UserRow(id=new_id(), name=name, domain_id=domain_id, enabled=enabled,
                      password_hash=password_hash,
                      password_created_at=db.utcnow() if password_hash else None,
                      default_project_id=default_project_id,
                      options={k: v for k, v in (options or {}).items() if v is not None},
                      extra=domains.clean_extra(extra or {}))
        session.add(row)
        await domains.flush_unique(session, "user", name)
        return user_ref(row)


async def _check_name_free(session: AsyncSession, domain_id: str, name: str) -> None:
    if await session.scalar(select(UserRow.id).where(
            UserRow.domain_id == domain_id, UserRow.name == name)) is not None:
        raise id_errors.DuplicateEntry(kind="user", field="name", value=name)


async def update_user(deps: IdentityDeps, ctx: RequestContext, user_id: str,
                      changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `changes` (only what the client sent). A new password or disabling the user
    revokes the user's tokens; the domain never changes."""
    deps.policy.authorize("identity:update_user", ctx, _target(user_id))
    changes = dict(changes)
    if changes.pop("id", user_id) != user_id:
        raise id_errors.ValidationError(detail="Cannot change ID")
    _check_options(changes.get("options") or {})
    password_hash = await _hash(deps, changes["password"]) if "password" in changes else None
    async with deps.write() as session:
        row = await require_user(session, user_id)
        if changes.get("domain_id", row.domain_id) != row.domain_id:
            raise id_errors.ValidationError(detail="Cannot change Domain ID")
        revoke = False
        if "name" in changes and changes["name"] != row.name:
            await _check_name_free(session, row.domain_id, changes["name"])
            row.name = changes["name"]
        if "enabled" in changes and changes["enabled"] != row.enabled:
            row.enabled = changes["enabled"]
            revoke = revoke or not row.enabled
        if "default_project_id" in changes:
            await _check_default_project(session, changes["default_project_id"])
            row.default_project_id = changes["default_project_id"]
        if changes.get("options"):
            merged = {**(row.options or {}), **changes["options"]}
            row.options = {k: v for k, v in merged.items() if v is not None}
        if "password" in changes:
            row.password_hash = password_hash
            row.password_created_at = db.utcnow() if password_hash else None
            revoke = True
        extra = domains.clean_extra({k: v for k, v in changes.items() if k not in _CORE})
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        if revoke:
            await revocation.record(session, user_id=user_id)
        await domains.flush_unique(session, "user", row.name)
        return user_ref(row)


async def delete_user(deps: IdentityDeps, ctx: RequestContext, user_id: str) -> None:
    """Delete the user with their memberships, grants, application credentials and
    credentials; their tokens fail at once."""
    deps.policy.authorize("identity:delete_user", ctx, _target(user_id))
    async with deps.write() as session:
        await require_user(session, user_id)
        await domains.purge_users(session, [user_id])
        await revocation.record(session, user_id=user_id)


async def change_password(deps: IdentityDeps, ctx: RequestContext, user_id: str, *,
                          original_password: str, password: str) -> None:
    """Self-service password change. A wrong original password (or a disabled user) is 401;
    a locked password is 403. Every token the user holds is revoked, this one included."""
    deps.policy.authorize("identity:change_password", ctx, _target(user_id))
    async with deps.read() as session:
        row = await require_user(session, user_id)
        domain = await session.get(DomainRow, row.domain_id)
    usable = row.enabled and domain is not None and domain.enabled
    if not await passwords.verify_password(original_password, row.password_hash) or not usable:
        raise errors.Unauthorized("Error when changing user password: the original password "
                                  "is wrong or the user is disabled.")
    if (row.options or {}).get("lock_password"):
        raise errors.Forbidden(f"You cannot change your password at this time due to the "
                               f"self-service password change being disabled for user {user_id}.")
    password_hash = await _hash(deps, password)
    async with deps.write() as session:
        row = await require_user(session, user_id)
        row.password_hash = password_hash
        row.password_created_at = db.utcnow()
        await revocation.record(session, user_id=user_id)
