"""Roles and role inference rules (`/v3/roles`, `/v3/roles/{prior}/implies/...`,
`/v3/role_inferences`).

A role is global (`domain_id` None) or belongs to one domain. Deleting a role removes, in one
transaction, its grants, the inference rules that name it and the application credentials
that carried it (a revocation event per credential). Tokens are not touched: their roles are
resolved again at each validation generation (service/tokens.py), so a token that relied only
on the role fails its next validation and one with other roles keeps just those.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.identity import errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import (
    NULL_DOMAIN_ID,
    ApplicationCredentialRow,
    AssignmentRow,
    DomainRow,
    ImpliedRoleRow,
    RoleRow,
)
from nimbus.identity.service import revocation
from nimbus.identity.service.ids import new_id

# Keystone's [assignment] prohibited_implied_role default: nothing may imply admin.
PROHIBITED_IMPLIED = frozenset({"admin"})
IMMUTABLE = "immutable"


@dataclasses.dataclass(frozen=True)
class Role:
    id: str
    name: str
    domain_id: str | None
    description: str | None
    options: dict[str, Any]
    extra: dict[str, Any]


def to_role(row: RoleRow) -> Role:
    return Role(id=row.id, name=row.name,
                domain_id=None if row.domain_id == NULL_DOMAIN_ID else row.domain_id,
                description=row.description, options=dict(row.options or {}),
                extra=dict(row.extra or {}))


async def load_role(session: AsyncSession, role_id: str) -> RoleRow:
    row = await session.get(RoleRow, role_id)
    if row is None:
        raise errors.RoleNotFound(role_id=role_id)
    return row


async def roles_by_ids(session: AsyncSession, role_ids: list[str] | set[str]) -> list[Role]:
    """The roles that still exist among `role_ids`, by name."""
    if not role_ids:
        return []
    rows = await session.execute(
        select(RoleRow).where(RoleRow.id.in_(set(role_ids))).order_by(RoleRow.name, RoleRow.id))
    return [to_role(r) for r in rows.scalars()]


def _target(role: Role | None = None, **extra: Any) -> dict[str, Any]:
    target: dict[str, Any] = dict(extra)
    if role is not None:
        target["role"] = {"id": role.id, "name": role.name, "domain_id": role.domain_id}
    return {"target": target}


def _is_immutable(row: RoleRow) -> bool:
    return bool((row.options or {}).get(IMMUTABLE))


def _merge_options(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Keystone's resource options: a null value removes the option."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def _assert_unique_name(session: AsyncSession, name: str, domain_key: str,
                              exclude_id: str | None = None) -> None:
    query = select(RoleRow.id).where(RoleRow.name == name, RoleRow.domain_id == domain_key)
    if exclude_id is not None:
        query = query.where(RoleRow.id != exclude_id)
    if (await session.execute(query)).first() is not None:
        raise errors.DuplicateEntry(kind="role", field="name", value=name)


# --- roles ---------------------------------------------------------------------------------

async def create_role(deps: IdentityDeps, ctx: RequestContext, *, name: str,
                      domain_id: str | None, description: str | None,
                      options: dict[str, Any], extra: dict[str, Any]) -> Role:
    """A new role; 409 if its name is taken in its domain (or among global roles)."""
    deps.policy.authorize("identity:create_role", ctx,
                          _target(role=None, domain_id=domain_id))
    async with deps.write() as session:
        if domain_id is not None and await session.get(DomainRow, domain_id) is None:
            raise errors.ValidationError(detail=f"Domain {domain_id} does not exist.")
        domain_key = domain_id or NULL_DOMAIN_ID
        await _assert_unique_name(session, name, domain_key)
        row = RoleRow(id=new_id(), name=name, domain_id=domain_key, description=description,
                      options=_merge_options({}, options), extra=extra)
        session.add(row)
        await session.flush()
        return to_role(row)


async def get_role(deps: IdentityDeps, ctx: RequestContext, role_id: str) -> Role:
    async with deps.read() as session:
        role = to_role(await load_role(session, role_id))
    deps.policy.authorize("identity:get_role", ctx, _target(role))
    return role


async def list_roles(deps: IdentityDeps, ctx: RequestContext, *, name: str | None = None,
                     domain_id: str | None = None) -> list[Role]:
    """Global roles, or with `domain_id` that domain's roles (Keystone's default filter)."""
    deps.policy.authorize("identity:list_roles", ctx, _target(domain_id=domain_id))
    query = select(RoleRow).where(RoleRow.domain_id == (domain_id or NULL_DOMAIN_ID))
    if name is not None:
        query = query.where(RoleRow.name == name)
    async with deps.read() as session:
        rows = await session.execute(query.order_by(RoleRow.name, RoleRow.id))
        return [to_role(r) for r in rows.scalars()]


async def update_role(deps: IdentityDeps, ctx: RequestContext, role_id: str, *,
                      changes: dict[str, Any], extra: dict[str, Any]) -> Role:
    """Change name, description, options or extra attributes.

    An immutable role accepts only the update that clears its immutable option (403 else);
    `domain_id` cannot change (400); a taken name is 409.
    """
    async with deps.write() as session:
        row = await load_role(session, role_id)
        deps.policy.authorize("identity:update_role", ctx, _target(to_role(row)))
        if _is_immutable(row):
            options = changes.get("options") or {}
            if extra or set(changes) != {"options"} or set(options) != {IMMUTABLE} \
                    or options[IMMUTABLE] not in (False, None):
                raise errors.ImmutableRole(action="update", role_id=role_id)
        if "domain_id" in changes and (changes["domain_id"] or NULL_DOMAIN_ID) != row.domain_id:
            raise errors.ValidationError(detail="Update of `domain_id` is not allowed.")
        if "name" in changes and changes["name"] != row.name:
            await _assert_unique_name(session, changes["name"], row.domain_id, exclude_id=row.id)
            row.name = changes["name"]
        if "description" in changes:
            row.description = changes["description"]
        if "options" in changes:
            row.options = _merge_options(row.options or {}, changes["options"] or {})
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await session.flush()
        return to_role(row)


async def delete_role(deps: IdentityDeps, ctx: RequestContext, role_id: str) -> None:
    """Remove the role with its grants, inference rules and the application credentials that
    carried it (or, as Keystone does, that belong to a user it was granted to on their project).
    """
    async with deps.write() as session:
        row = await load_role(session, role_id)
        deps.policy.authorize("identity:delete_role", ctx, _target(to_role(row)))
        if _is_immutable(row):
            raise errors.ImmutableRole(action="delete", role_id=role_id)
        granted = {(a, t) for a, t in (await session.execute(
            select(AssignmentRow.actor_id, AssignmentRow.target_id).where(
                AssignmentRow.role_id == role_id, AssignmentRow.type == "UserProject"))).all()}
        creds = (await session.execute(select(ApplicationCredentialRow))).scalars()
        for cred in creds:
            if role_id in (cred.role_ids or []) or (cred.user_id, cred.project_id) in granted:
                await revocation.record(session, app_cred_id=cred.id)
                await session.delete(cred)
        await session.execute(delete(AssignmentRow).where(AssignmentRow.role_id == role_id))
        await session.execute(delete(ImpliedRoleRow).where(or_(
            ImpliedRoleRow.prior_role_id == role_id, ImpliedRoleRow.implied_role_id == role_id)))
        await session.delete(row)


# --- inference rules -----------------------------------------------------------------------

async def create_implied_role(deps: IdentityDeps, ctx: RequestContext, prior_role_id: str,
                              implied_role_id: str) -> tuple[Role, Role]:
    """Make `prior` imply `implied`; idempotent. 403 for a prohibited implied role (admin) and
    for a global role implying a domain-specific one."""
    async with deps.write() as session:
        prior = to_role(await load_role(session, prior_role_id))
        implied = to_role(await load_role(session, implied_role_id))
        deps.policy.authorize("identity:implied_roles", ctx,
                              {"target": {"prior_role": dataclasses.asdict(prior),
                                          "implied_role": dataclasses.asdict(implied)}})
        if implied.name in PROHIBITED_IMPLIED:
            raise errors.InvalidImpliedRole(role_id=implied.id,
                                            reason=f"no role may imply {implied.name}")
        if prior.domain_id is None and implied.domain_id is not None:
            raise errors.InvalidImpliedRole(
                role_id=implied.id, reason="a global role cannot imply a domain-specific role")
        if await session.get(ImpliedRoleRow, (prior.id, implied.id)) is None:
            session.add(ImpliedRoleRow(prior_role_id=prior.id, implied_role_id=implied.id))
    return prior, implied


async def _load_rule(session: AsyncSession, prior_role_id: str,
                     implied_role_id: str) -> tuple[Role, Role, ImpliedRoleRow]:
    prior = to_role(await load_role(session, prior_role_id))
    implied = to_role(await load_role(session, implied_role_id))
    rule = await session.get(ImpliedRoleRow, (prior.id, implied.id))
    if rule is None:
        raise errors.ImpliedRoleNotFound(prior_role_id=prior.id, implied_role_id=implied.id)
    return prior, implied, rule


async def get_implied_role(deps: IdentityDeps, ctx: RequestContext, prior_role_id: str,
                           implied_role_id: str) -> tuple[Role, Role]:
    deps.policy.authorize("identity:implied_roles", ctx, _target())
    async with deps.read() as session:
        prior, implied, _ = await _load_rule(session, prior_role_id, implied_role_id)
    return prior, implied


async def delete_implied_role(deps: IdentityDeps, ctx: RequestContext, prior_role_id: str,
                              implied_role_id: str) -> None:
    deps.policy.authorize("identity:implied_roles", ctx, _target())
    async with deps.write() as session:
        _, _, rule = await _load_rule(session, prior_role_id, implied_role_id)
        await session.delete(rule)


async def list_implied_roles(deps: IdentityDeps, ctx: RequestContext,
                             prior_role_id: str) -> tuple[Role, list[Role]]:
    """The roles `prior` implies directly (not transitively), as Keystone lists them."""
    deps.policy.authorize("identity:implied_roles", ctx, _target())
    async with deps.read() as session:
        prior = to_role(await load_role(session, prior_role_id))
        ids = (await session.execute(select(ImpliedRoleRow.implied_role_id).where(
            ImpliedRoleRow.prior_role_id == prior.id))).scalars()
        return prior, await roles_by_ids(session, set(ids))


async def list_role_inferences(deps: IdentityDeps,
                               ctx: RequestContext) -> list[tuple[Role, list[Role]]]:
    """Every inference rule, grouped by prior role (ordered by its name)."""
    deps.policy.authorize("identity:implied_roles", ctx, _target())
    async with deps.read() as session:
        rules = (await session.execute(select(ImpliedRoleRow))).scalars().all()
        roles = {r.id: r for r in await roles_by_ids(
            session, {x.prior_role_id for x in rules} | {x.implied_role_id for x in rules})}
    by_prior: dict[str, list[Role]] = {}
    for rule in rules:
        if rule.prior_role_id in roles and rule.implied_role_id in roles:
            by_prior.setdefault(rule.prior_role_id, []).append(roles[rule.implied_role_id])
    result = [(roles[p], sorted(implied, key=lambda r: (r.name, r.id)))
              for p, implied in by_prior.items()]
    return sorted(result, key=lambda pair: (pair[0].name, pair[0].id))
