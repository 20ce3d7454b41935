"""Application credentials (`/v3/users/{user_id}/application_credentials`).

A credential belongs to its creator and to the project of the token that created it. Its
secret is shown once and kept only as a bcrypt hash; its roles are a subset of the roles the
creator's token carries (with their implied roles added, as Keystone does). Authenticating
with it is `service/tokens.py`'s `application_credential` method; deleting it records a
revocation event, so the tokens made with it fail at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.identity import errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import ApplicationCredentialRow, RoleRow, UserRow
from nimbus.identity.service import effective, passwords, revocation, roles, tokens
from nimbus.identity.service.ids import new_id


@dataclasses.dataclass(frozen=True)
class AppCred:
    id: str
    name: str
    user_id: str
    project_id: str
    description: str | None
    expires_at: dt.datetime | None
    unrestricted: bool
    roles: list[roles.Role]
    access_rules: list[dict[str, Any]]
    # Only right after creation.
    secret: str | None = None


async def _view(session: AsyncSession, row: ApplicationCredentialRow,
                secret: str | None = None) -> AppCred:
    return AppCred(id=row.id, name=row.name, user_id=row.user_id, project_id=row.project_id,
                   description=row.description, expires_at=row.expires_at,
                   unrestricted=row.unrestricted,
                   roles=await roles.roles_by_ids(session, set(row.role_ids or [])),
                   access_rules=list(row.access_rules or []), secret=secret)


def _owner(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}}


async def _check_delegation(deps: IdentityDeps, ctx: RequestContext) -> tokens.ValidatedToken:
    """The caller's token; 403 if it comes from a restricted application credential."""
    validated = await tokens.validate(deps, ctx.auth_token or "")
    if validated.app_cred is not None and validated.app_cred["restricted"]:
        raise errors.AppCredRestricted(what="application credentials")
    return validated


async def _requested_role_ids(session: AsyncSession, wanted: list[dict[str, str]]) -> set[str]:
    ids: set[str] = set()
    for ref in wanted:
        if ref.get("id"):
            ids.add(ref["id"])
            continue
        found = list((await session.execute(select(RoleRow.id).where(
            RoleRow.name == ref.get("name")))).scalars())
        if not found:
            raise errors.RoleNotFound(f"Role {ref.get('name')} is not defined")
        if len(found) > 1:
            raise errors.ValidationError(
                detail=f"Role name {ref.get('name')} is ambiguous: give its id.")
        ids.add(found[0])
    return await effective.expand_implied(session, ids)


async def create_app_cred(deps: IdentityDeps, ctx: RequestContext, user_id: str, *, name: str,
                          description: str | None, secret: str | None,
                          expires_at: dt.datetime | None, role_refs: list[dict[str, str]] | None,
                          unrestricted: bool, access_rules: list[dict[str, Any]]) -> AppCred:
    """Create the caller's own credential on their token's project; the result carries the
    secret. 403 for another user or a restricted credential's token, 400 for a token without
    a project, an expiry in the past or a role the token does not carry, 409 for a name the
    user already used."""
    deps.policy.authorize("identity:create_application_credential", ctx, _owner(user_id))
    if ctx.user_id != user_id:
        raise core_errors.Forbidden("Cannot create an application credential for another user.")
    validated = await _check_delegation(deps, ctx)
    if validated.project is None:
        raise errors.ValidationError(
            detail="Application credentials can only be created with a project-scoped token.")
    if expires_at is not None:
        if expires_at.tzinfo is not None:
            expires_at = expires_at.astimezone(dt.UTC).replace(tzinfo=None)
        if expires_at <= dt.datetime.now(dt.UTC).replace(tzinfo=None):
            raise errors.ValidationError(detail="The expiration date is in the past.")
    token_roles = {r["id"] for r in validated.roles}
    role_ids = token_roles
    if role_refs:
        async with deps.read() as session:
            role_ids = await _requested_role_ids(session, role_refs)
        if not role_ids <= token_roles:
            raise errors.ValidationError(
                detail="Cannot create an application credential with unassigned role")
    secret = secret or secrets.token_urlsafe(64)
    secret_hash = await passwords.hash_password(secret, deps.settings.identity.bcrypt_rounds)
    rules = [{**rule, "id": rule.get("id") or new_id()} for rule in access_rules]
    async with deps.write() as session:
        if await session.get(UserRow, user_id) is None:
            raise errors.UserNotFound(user_id=user_id)
        taken = (await session.execute(select(ApplicationCredentialRow.id).where(
            ApplicationCredentialRow.user_id == user_id,
            ApplicationCredentialRow.name == name))).first()
        if taken is not None:
            raise errors.DuplicateEntry(kind="application credential", field="name", value=name)
        row = ApplicationCredentialRow(
            id=new_id(), name=name, user_id=user_id, project_id=validated.project["id"],
            secret_hash=secret_hash, description=description, expires_at=expires_at,
            unrestricted=unrestricted, role_ids=sorted(role_ids), access_rules=rules)
        session.add(row)
        await session.flush()
        return await _view(session, row, secret)


async def list_app_creds(deps: IdentityDeps, ctx: RequestContext, user_id: str, *,
                         name: str | None = None) -> list[AppCred]:
    deps.policy.authorize("identity:application_credentials", ctx, _owner(user_id))
    async with deps.read() as session:
        if await session.get(UserRow, user_id) is None:
            raise errors.UserNotFound(user_id=user_id)
        query = select(ApplicationCredentialRow).where(ApplicationCredentialRow.user_id == user_id)
        if name is not None:
            query = query.where(ApplicationCredentialRow.name == name)
        rows = await session.execute(query.order_by(ApplicationCredentialRow.name))
        return [await _view(session, r) for r in rows.scalars()]


async def _load(session: AsyncSession, user_id: str, app_cred_id: str) -> ApplicationCredentialRow:
    row = await session.get(ApplicationCredentialRow, app_cred_id)
    if row is None or row.user_id != user_id:
        raise errors.ApplicationCredentialNotFound(app_cred_id=app_cred_id)
    return row


async def get_app_cred(deps: IdentityDeps, ctx: RequestContext, user_id: str,
                       app_cred_id: str) -> AppCred:
    deps.policy.authorize("identity:application_credentials", ctx, _owner(user_id))
    async with deps.read() as session:
        return await _view(session, await _load(session, user_id, app_cred_id))


async def delete_app_cred(deps: IdentityDeps, ctx: RequestContext, user_id: str,
                          app_cred_id: str) -> None:
    """Delete it and revoke every token made with it."""
    deps.policy.authorize("identity:application_credentials", ctx, _owner(user_id))
    await _check_delegation(deps, ctx)
    async with deps.write() as session:
        row = await _load(session, user_id, app_cred_id)
        await revocation.record(session, app_cred_id=row.id)
        await session.delete(row)
