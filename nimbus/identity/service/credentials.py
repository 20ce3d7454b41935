"""Credentials (`/v3/credentials`): opaque blobs a user keeps in identity (EC2 keys, TOTP
secrets, certificates). An `ec2` credential's id is the SHA-256 of its access key, as in
Keystone, so that the key can be looked up. Users see and manage their own; admins all.
Tokens from an application credential reach only the credentials of their own project.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.identity import errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import CredentialRow, ProjectRow, UserRow
from nimbus.identity.service import tokens
from nimbus.identity.service.ids import new_id


@dataclasses.dataclass(frozen=True)
class Credential:
    id: str
    user_id: str
    project_id: str | None
    type: str
    blob: str
    extra: dict[str, Any]


def _view(row: CredentialRow) -> Credential:
    return Credential(id=row.id, user_id=row.user_id, project_id=row.project_id, type=row.type,
                      blob=row.blob, extra=dict(row.extra or {}))


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}, "credential": {"user_id": user_id}}}


def _ec2_access(type_: str, blob: str, project_id: str | None) -> str | None:
    """The access key of an ec2 credential (400 if the blob lacks one), else None."""
    if type_.lower() != "ec2":
        return None
    try:
        data = json.loads(blob)
    except ValueError as exc:
        raise errors.ValidationError(detail="Invalid blob in credential") from exc
    if not isinstance(data, dict) or not data:
        raise errors.ValidationError(detail="Invalid blob in credential: expected an object.")
    if not isinstance(data.get("access"), str) or not data["access"]:
        raise errors.ValidationError(detail="'access' is a required property of an ec2 blob.")
    if project_id is None:
        raise errors.ValidationError(detail="An ec2 credential requires project_id.")
    return str(data["access"])


async def _delegated(deps: IdentityDeps, ctx: RequestContext) -> tokens.ValidatedToken:
    return await tokens.validate(deps, ctx.auth_token or "")


def _check_delegated_scope(validated: tokens.ValidatedToken, ctx: RequestContext,
                           project_id: str | None) -> None:
    if validated.app_cred is not None and project_id != ctx.project_id:
        raise core_errors.Forbidden(
            "Credential project does not match the project scope of the delegated token.")


async def _check_refs(session: AsyncSession, user_id: str | None,
                      project_id: str | None) -> None:
    if user_id is not None and await session.get(UserRow, user_id) is None:
        raise errors.ValidationError(detail=f"Invalid user_id {user_id}: no such user.")
    if project_id is not None and await session.get(ProjectRow, project_id) is None:
        raise errors.ValidationError(detail=f"Invalid project_id {project_id}: no such project.")


async def _load(session: AsyncSession, credential_id: str) -> CredentialRow:
    row = await session.get(CredentialRow, credential_id)
    if row is None:
        raise errors.CredentialNotFound(credential_id=credential_id)
    return row


async def create_credential(deps: IdentityDeps, ctx: RequestContext, *, user_id: str,
                            project_id: str | None, type: str, blob: str,
                            extra: dict[str, Any]) -> Credential:
    """403 for another user's credential (unless admin); 400 for an unknown user or project
    or a malformed ec2 blob; 409 for an ec2 access key already stored."""
    deps.policy.authorize("identity:credentials", ctx, _target(user_id))
    validated = await _delegated(deps, ctx)
    access = _ec2_access(type, blob, project_id)
    if access is not None and validated.app_cred is not None and validated.app_cred["restricted"]:
        raise errors.AppCredRestricted(what="credentials")
    _check_delegated_scope(validated, ctx, project_id)
    credential_id = hashlib.sha256(access.encode()).hexdigest() if access else new_id()
    async with deps.write() as session:
        await _check_refs(session, user_id, project_id)
        if await session.get(CredentialRow, credential_id) is not None:
            raise errors.DuplicateEntry(kind="credential", field="id", value=credential_id)
        row = CredentialRow(id=credential_id, user_id=user_id, project_id=project_id,
                            type=type, blob=blob, extra=extra)
        session.add(row)
        await session.flush()
        return _view(row)


async def list_credentials(deps: IdentityDeps, ctx: RequestContext, *,
                           user_id: str | None = None, type: str | None = None) -> list[Credential]:
    """The matching credentials the caller may see (a non-admin: their own)."""
    deps.policy.authorize("identity:list_credentials", ctx, {})
    validated = await _delegated(deps, ctx)
    query = select(CredentialRow).order_by(CredentialRow.user_id, CredentialRow.id)
    if not deps.policy.allowed("identity:credentials", ctx, _target("")):
        # Filter in SQL for the common case; the per-row policy check below still applies.
        query = query.where(CredentialRow.user_id == (ctx.user_id or ""))
    if user_id is not None:
        query = query.where(CredentialRow.user_id == user_id)
    if type is not None:
        query = query.where(CredentialRow.type == type)
    async with deps.read() as session:
        rows = list((await session.execute(query)).scalars())
    visible = []
    for row in rows:
        if not deps.policy.allowed("identity:credentials", ctx, _target(row.user_id)):
            continue
        if validated.app_cred is not None and row.project_id != ctx.project_id:
            continue
        visible.append(_view(row))
    return visible


async def get_credential(deps: IdentityDeps, ctx: RequestContext,
                         credential_id: str) -> Credential:
    async with deps.read() as session:
        row = await _load(session, credential_id)
    deps.policy.authorize("identity:credentials", ctx, _target(row.user_id))
    _check_delegated_scope(await _delegated(deps, ctx), ctx, row.project_id)
    return _view(row)


async def update_credential(deps: IdentityDeps, ctx: RequestContext, credential_id: str, *,
                            changes: dict[str, Any], extra: dict[str, Any]) -> Credential:
    """Change blob, type, project or owner; the result must still be a valid credential and
    the caller must be allowed on both the old and the new owner."""
    validated = await _delegated(deps, ctx)
    async with deps.write() as session:
        row = await _load(session, credential_id)
        deps.policy.authorize("identity:credentials", ctx, _target(row.user_id))
        _check_delegated_scope(validated, ctx, row.project_id)
        merged = {"user_id": row.user_id, "project_id": row.project_id, "type": row.type,
                  "blob": row.blob, **changes}
        deps.policy.authorize("identity:credentials", ctx, _target(merged["user_id"]))
        _check_delegated_scope(validated, ctx, merged["project_id"])
        _ec2_access(merged["type"], merged["blob"], merged["project_id"])
        await _check_refs(session, changes.get("user_id"), changes.get("project_id"))
        for field in ("user_id", "project_id", "type", "blob"):
            setattr(row, field, merged[field])
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await session.flush()
        return _view(row)


async def delete_credential(deps: IdentityDeps, ctx: RequestContext, credential_id: str) -> None:
    validated = await _delegated(deps, ctx)
    async with deps.write() as session:
        row = await _load(session, credential_id)
        deps.policy.authorize("identity:credentials", ctx, _target(row.user_id))
        _check_delegated_scope(validated, ctx, row.project_id)
        await session.delete(row)
