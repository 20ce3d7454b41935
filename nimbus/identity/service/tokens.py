"""Authentication and tokens: issue (password, token, application credential), validate,
revoke. Validation results are cached per identity generation (see IdentityDeps), so the
common path is a Fernet decrypt and a dict lookup, and any identity write is seen at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors, tokens
from nimbus.core.context import RequestContext
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import (
    ApplicationCredentialRow,
    DomainRow,
    ProjectRow,
    RoleRow,
    UserRow,
)
from nimbus.identity.schemas_auth import AuthRequest, DomainRef, ProjectRef, Scope, UserRef
from nimbus.identity.service import effective, passwords, revocation
from nimbus.identity.service.catalog_view import load_catalog, render_catalog


@dataclasses.dataclass(frozen=True)
class ValidatedToken:
    payload: tokens.TokenPayload
    user: dict[str, Any]
    project: dict[str, Any] | None
    domain: dict[str, Any] | None
    roles: list[dict[str, str]]
    app_cred: dict[str, Any] | None

    def context(self, token: str) -> RequestContext:
        """The context of a request made with `token` (this validation's), request ids still
        to set. Built once: a cached validation serves every request made with the token."""
        made: RequestContext | None = self.__dict__.get("_context")
        if made is None or made.auth_token != token:
            made = self._make_context(token)
            object.__setattr__(self, "_context", made)  # a memo, not state: frozen otherwise
        return made

    def _make_context(self, token: str) -> RequestContext:
        return RequestContext(
            user_id=self.user["id"], user_name=self.user["name"],
            user_domain_id=self.user["domain"]["id"],
            project_id=self.project["id"] if self.project else None,
            project_name=self.project["name"] if self.project else None,
            project_domain_id=self.project["domain"]["id"] if self.project else None,
            domain_id=self.domain["id"] if self.domain else None,
            system_scope=self.payload.system,
            roles=tuple(r["name"] for r in self.roles), auth_token=token,
            expires_at=_iso(self.payload.expires_at), audit_ids=self.payload.audit_ids)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _ms_iso(ms: int) -> str:
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}Z"


class _Cache:
    """Validated tokens and the catalog, valid for one identity generation."""

    def __init__(self) -> None:
        self.generation = -1
        self.tokens: dict[str, ValidatedToken] = {}
        self.catalog: Any = None
        self.events: list[Any] | None = None
        self.bodies: dict[tuple[str, bool], bytes] = {}

    def for_generation(self, generation: int) -> _Cache:
        if generation != self.generation:
            self.generation = generation
            self.tokens.clear()
            self.catalog = None
            self.events = None
            self.bodies.clear()
        return self


def _cache(deps: IdentityDeps) -> _Cache:
    cache = deps.caches.setdefault("tokens", _Cache())
    assert isinstance(cache, _Cache)
    return cache.for_generation(deps.generation)


# --- authentication ------------------------------------------------------------------------

async def _find_domain(session: AsyncSession, ref: DomainRef) -> DomainRow:
    if ref.id is not None:
        row = await session.get(DomainRow, ref.id)
    else:
        row = (await session.execute(select(DomainRow).where(DomainRow.name == ref.name))
               ).scalar_one_or_none()
    if row is None or not row.enabled:
        raise id_errors.AuthFailed()
    return row


async def _find_user(session: AsyncSession, ref: UserRef) -> UserRow:
    if ref.id is not None:
        user = await session.get(UserRow, ref.id)
    else:
        if ref.domain is None:
            raise id_errors.ValidationError(detail="A user name needs its domain.")
        domain = await _find_domain(session, ref.domain)
        user = (await session.execute(select(UserRow).where(
            UserRow.name == ref.name, UserRow.domain_id == domain.id))).scalar_one_or_none()
    if user is None:
        raise id_errors.AuthFailed()
    return user


async def _check_user_usable(session: AsyncSession, user: UserRow) -> DomainRow:
    domain = await session.get(DomainRow, user.domain_id)
    if not user.enabled or domain is None or not domain.enabled:
        raise id_errors.AuthFailed()
    return domain


async def _find_project(session: AsyncSession, ref: ProjectRef) -> ProjectRow:
    if ref.id is not None:
        project = await session.get(ProjectRow, ref.id)
    else:
        if ref.domain is None:
            raise id_errors.ValidationError(detail="A project name needs its domain.")
        domain = await _find_domain(session, ref.domain)
        project = (await session.execute(select(ProjectRow).where(
            ProjectRow.name == ref.name, ProjectRow.domain_id == domain.id))).scalar_one_or_none()
    if project is None:
        raise id_errors.AuthFailed()
    return project


async def authenticate(deps: IdentityDeps, request: AuthRequest) -> tuple[str, ValidatedToken]:
    """Check the credentials, pick the scope, issue a token. 401 on any mismatch."""
    ident = request.auth.identity
    methods: list[str] = list(ident.methods)
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
        seconds=deps.settings.identity.token_expiration)
    audit_ids: tuple[str, ...] = (tokens.new_audit_id(),)
    app_cred: ApplicationCredentialRow | None = None
    async with deps.read() as session:
        if "password" in methods and ident.password is not None:
            user = await _find_user(session, ident.password.user)
            if not await passwords.verify_password(ident.password.user.password or "",
                                                   user.password_hash):
                raise id_errors.AuthFailed()
        elif "token" in methods and ident.token is not None:
            original = await validate(deps, ident.token.id)
            if original.payload.app_cred_id:
                raise errors.Forbidden("Application credential tokens cannot be rescoped.")
            user = await _find_user(session, UserRef(id=original.user["id"]))
            expires_at = original.payload.expires_at
            audit_ids = (tokens.new_audit_id(), original.payload.audit_ids[-1])
            methods = list(dict.fromkeys([*original.payload.methods, "token"]))
        elif "application_credential" in methods and ident.application_credential is not None:
            app_cred, user = await _check_app_cred(session, ident.application_credential)
        else:
            raise id_errors.ValidationError(detail="No supported authentication method given.")
        await _check_user_usable(session, user)
        payload_scope = await _resolve_scope(session, request, user, app_cred)
    payload = tokens.TokenPayload(
        user_id=user.id, methods=tuple(methods), expires_at=expires_at, audit_ids=audit_ids,
        app_cred_id=app_cred.id if app_cred else None, **payload_scope)
    token = tokens.encode(deps.keys, payload)
    return token, await validate(deps, token)


async def _check_app_cred(session: AsyncSession, ref: Any) -> tuple[ApplicationCredentialRow,
                                                                     UserRow]:
    if ref.id is not None:
        cred = await session.get(ApplicationCredentialRow, ref.id)
    else:
        if ref.user is None:
            raise id_errors.ValidationError(detail="An application credential name needs a user.")
        owner = await _find_user(session, ref.user)
        cred = (await session.execute(select(ApplicationCredentialRow).where(
            ApplicationCredentialRow.user_id == owner.id,
            ApplicationCredentialRow.name == ref.name))).scalar_one_or_none()
    if cred is None or not await passwords.verify_password(ref.secret, cred.secret_hash):
        raise id_errors.AuthFailed()
    if cred.expires_at is not None and cred.expires_at <= dt.datetime.now(dt.UTC).replace(
            tzinfo=None):
        raise id_errors.AuthFailed()
    user = await session.get(UserRow, cred.user_id)
    if user is None:
        raise id_errors.AuthFailed()
    return cred, user


async def _resolve_scope(session: AsyncSession, request: AuthRequest, user: UserRow,
                         app_cred: ApplicationCredentialRow | None) -> dict[str, Any]:
    if request.auth.scope == "unscoped":
        return {}
    scope = request.auth.scope if isinstance(request.auth.scope, Scope) else None
    if app_cred is not None:
        if scope is not None and scope.project is not None:
            project = await _find_project(session, scope.project)
            if project.id != app_cred.project_id:
                raise id_errors.AuthFailed()
        return {"project_id": app_cred.project_id}
    if scope is None:
        # Keystone scopes to the default project when the user has a role there.
        if user.default_project_id and await effective.direct_role_ids(
                session, user.id, project_id=user.default_project_id):
            return {"project_id": user.default_project_id}
        return {}
    if scope.project is not None:
        project = await _find_project(session, scope.project)
        return {"project_id": project.id}
    if scope.domain is not None:
        domain = await _find_domain(session, scope.domain)
        return {"domain_id": domain.id}
    if scope.system is not None:
        return {"system": "all"}
    return {}


# --- validation ----------------------------------------------------------------------------

async def validate(deps: IdentityDeps, token: str) -> ValidatedToken:
    """The token's identity and roles now; raises errors.Unauthorized if not valid."""
    generation = deps.generation
    cache = _cache(deps)
    hit = cache.tokens.get(token)
    if hit is not None:
        if hit.payload.expires_at <= dt.datetime.now(dt.UTC):
            raise tokens.TokenNotValid("The token has expired.")
        return hit
    payload = tokens.decode(deps.keys, token)
    async with deps.read() as session:
        events = cache.events
        if events is None:
            events = await revocation.load(session)
        if revocation.is_revoked(events, payload):
            raise tokens.TokenNotValid("The token has been revoked.")
        validated = await _resolve(session, payload)
    # A write that committed meanwhile may have made what was read stale (a removed grant):
    # cache only what was read within one generation.
    if deps.generation == generation:
        cache.events = events
        if len(cache.tokens) > 50_000:
            cache.tokens.clear()
        cache.tokens[token] = validated
    return validated


async def _resolve(session: AsyncSession, payload: tokens.TokenPayload) -> ValidatedToken:
    user = await session.get(UserRow, payload.user_id)
    if user is None:
        raise tokens.TokenNotValid()
    user_domain = await _check_user_usable(session, user)
    user_view = {"id": user.id, "name": user.name,
                 "domain": {"id": user_domain.id, "name": user_domain.name},
                 "password_expires_at": None}
    project_view = domain_view = app_cred_view = None
    roles: list[RoleRow] = []
    if payload.project_id:
        project = await session.get(ProjectRow, payload.project_id)
        project_domain = await session.get(DomainRow, project.domain_id) if project else None
        if project is None or not project.enabled or project_domain is None \
                or not project_domain.enabled:
            raise tokens.TokenNotValid()
        project_view = {"id": project.id, "name": project.name,
                        "domain": {"id": project_domain.id, "name": project_domain.name}}
        roles = await effective.effective_roles(session, user.id, project_id=project.id)
    elif payload.domain_id:
        domain = await session.get(DomainRow, payload.domain_id)
        if domain is None or not domain.enabled:
            raise tokens.TokenNotValid()
        domain_view = {"id": domain.id, "name": domain.name}
        roles = await effective.effective_roles(session, user.id, domain_id=domain.id)
    elif payload.system:
        roles = await effective.effective_roles(session, user.id, system=True)
    if payload.app_cred_id:
        cred = await session.get(ApplicationCredentialRow, payload.app_cred_id)
        if cred is None:
            raise tokens.TokenNotValid()
        allowed = await effective.expand_implied(session, set(cred.role_ids))
        roles = [r for r in roles if r.id in allowed]
        app_cred_view = {"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted}
    if payload.scope != "unscoped" and not roles:
        # A removed role assignment invalidates the tokens that relied on it.
        raise tokens.TokenNotValid("The user has no role on the token's scope.")
    return ValidatedToken(payload=payload, user=user_view, project=project_view,
                          domain=domain_view, roles=[{"id": r.id, "name": r.name} for r in roles],
                          app_cred=app_cred_view)


async def catalog_for(deps: IdentityDeps, validated: ValidatedToken) -> list[dict[str, Any]]:
    generation = deps.generation
    cache = _cache(deps)
    # A local: a write during the load resets cache.catalog under our feet.
    catalog = cache.catalog
    if catalog is None:
        async with deps.read() as session:
            catalog = await load_catalog(session)
        if deps.generation == generation:
            cache.catalog = catalog
    project_id = validated.project["id"] if validated.project else None
    return render_catalog(catalog, validated.user["id"], project_id)


async def token_body(deps: IdentityDeps, validated: ValidatedToken, *,
                     include_catalog: bool) -> dict[str, Any]:
    p = validated.payload
    body: dict[str, Any] = {
        "methods": list(p.methods), "user": validated.user, "audit_ids": list(p.audit_ids),
        "expires_at": _iso(p.expires_at), "issued_at": _ms_iso(p.issued_at_ms)}
    if validated.project is not None:
        body["project"] = validated.project
        body["is_domain"] = False
    if validated.domain is not None:
        body["domain"] = validated.domain
    if p.system:
        body["system"] = {"all": True}
    if p.scope != "unscoped":
        body["roles"] = validated.roles
        if include_catalog:
            body["catalog"] = await catalog_for(deps, validated)
    if validated.app_cred is not None:
        body["application_credential"] = validated.app_cred
    return {"token": body}


async def token_body_json(deps: IdentityDeps, validated: ValidatedToken, token: str, *,
                          include_catalog: bool) -> bytes:
    """The token body as JSON, rendered once per token and identity generation."""
    generation = deps.generation
    cache = _cache(deps)
    key = (token, include_catalog)
    body = cache.bodies.get(key)
    if body is None:
        body = orjson.dumps(await token_body(deps, validated, include_catalog=include_catalog))
        if deps.generation == generation:
            if len(cache.bodies) > 50_000:
                cache.bodies.clear()
            cache.bodies[key] = body
    return body


async def revoke(deps: IdentityDeps, validated: ValidatedToken) -> None:
    async with deps.write() as session:
        await revocation.record(session, audit_id=validated.payload.audit_ids[0])
