"""Grants of a role to a user or group on a project, a domain or the system (plus OS-INHERIT
grants inherited to projects), and the `GET /v3/role_assignments` listing.

Removing a grant needs no revocation event: every write bumps the identity generation and a
token's roles are resolved again for the new generation, so a token whose scope loses its
last role fails validation at once and one that keeps other roles carries only those.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from nimbus.core.context import RequestContext
from nimbus.identity import errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import (
    AssignmentRow,
    DomainRow,
    GroupRow,
    ImpliedRoleRow,
    MembershipRow,
    ProjectRow,
    RoleRow,
    UserRow,
)
from nimbus.identity.service import roles
from nimbus.identity.service.effective import SYSTEM_TARGET

ActorKind = Literal["user", "group"]
TargetKind = Literal["project", "domain", "system"]

USER_TYPES = ("UserProject", "UserDomain", "UserSystem")
GROUP_TYPES = ("GroupProject", "GroupDomain", "GroupSystem")
PROJECT_TYPES = ("UserProject", "GroupProject")
DOMAIN_TYPES = ("UserDomain", "GroupDomain")
SYSTEM_TYPES = ("UserSystem", "GroupSystem")


@dataclasses.dataclass(frozen=True)
class GrantPoint:
    """Who (a user or group) on what (a project, a domain, the system); `inherited` grants
    apply to the projects below the target, not to the target itself."""

    actor: ActorKind
    actor_id: str
    target: TargetKind
    target_id: str = SYSTEM_TARGET
    inherited: bool = False

    @property
    def type(self) -> str:
        return self.actor.capitalize() + self.target.capitalize()

    def key(self, role_id: str) -> dict[str, Any]:
        return {"type": self.type, "actor_id": self.actor_id, "target_id": self.target_id,
                "role_id": role_id, "inherited": self.inherited}


# --- grants --------------------------------------------------------------------------------

async def _policy_target(session: AsyncSession, point: GrantPoint, role: roles.Role | None, *,
                         actor_must_exist: bool = True) -> dict[str, Any]:
    """Load what the grant names (404 for what is missing) as a policy target."""
    target: dict[str, Any] = {}
    if role is not None:
        target["role"] = {"id": role.id, "name": role.name, "domain_id": role.domain_id}
    if point.actor == "user":
        user = await session.get(UserRow, point.actor_id)
        if user is None and actor_must_exist:
            raise errors.UserNotFound(user_id=point.actor_id)
        target["user"] = {"id": point.actor_id, "domain_id": user.domain_id if user else None}
    else:
        group = await session.get(GroupRow, point.actor_id)
        if group is None and actor_must_exist:
            raise errors.GroupNotFound(group_id=point.actor_id)
        target["group"] = {"id": point.actor_id, "domain_id": group.domain_id if group else None}
    if point.target == "project":
        project = await session.get(ProjectRow, point.target_id)
        if project is None:
            raise errors.ProjectNotFound(project_id=point.target_id)
        target["project"] = {"id": project.id, "domain_id": project.domain_id}
    elif point.target == "domain":
        if await session.get(DomainRow, point.target_id) is None:
            raise errors.DomainNotFound(domain_id=point.target_id)
        target["domain"] = {"id": point.target_id}
    else:
        target["system"] = {"all": True}
    return {"target": target}


async def create_grant(deps: IdentityDeps, ctx: RequestContext, point: GrantPoint,
                       role_id: str) -> None:
    """Grant the role; idempotent. 404 if role, actor or target is missing; 403 for a
    domain-specific role on a project of another domain; 400 for one on the system."""
    async with deps.write() as session:
        role = roles.to_role(await roles.load_role(session, role_id))
        target = await _policy_target(session, point, role)
        deps.policy.authorize("identity:create_grant", ctx, target)
        if role.domain_id is not None:
            if point.target == "system":
                raise errors.ValidationError(
                    detail=f"Role {role.id} is a domain-specific role. Unable to use a "
                           "domain-specific role in a system assignment.")
            if point.target == "project" and \
                    target["target"]["project"]["domain_id"] != role.domain_id:
                raise errors.DomainSpecificRoleMismatch(role_id=role.id,
                                                        project_id=point.target_id)
        if await session.get(AssignmentRow, point.key(role.id)) is None:
            session.add(AssignmentRow(**point.key(role.id)))


async def check_grant(deps: IdentityDeps, ctx: RequestContext, point: GrantPoint,
                      role_id: str) -> None:
    """Return if the grant exists; 404 (RoleAssignmentNotFound) if not."""
    async with deps.read() as session:
        role = roles.to_role(await roles.load_role(session, role_id))
        deps.policy.authorize("identity:check_grant", ctx,
                              await _policy_target(session, point, role))
        if await session.get(AssignmentRow, point.key(role.id)) is None:
            raise errors.RoleAssignmentNotFound(role_id=role_id, actor_id=point.actor_id,
                                                target_id=point.target_id)


async def revoke_grant(deps: IdentityDeps, ctx: RequestContext, point: GrantPoint,
                       role_id: str) -> None:
    """Remove the grant (the actor may be gone already); 404 if there is no such grant."""
    async with deps.write() as session:
        role = roles.to_role(await roles.load_role(session, role_id))
        deps.policy.authorize("identity:revoke_grant", ctx, await _policy_target(
            session, point, role, actor_must_exist=False))
        row = await session.get(AssignmentRow, point.key(role.id))
        if row is None:
            raise errors.RoleAssignmentNotFound(role_id=role_id, actor_id=point.actor_id,
                                                target_id=point.target_id)
        await session.delete(row)


async def list_grants(deps: IdentityDeps, ctx: RequestContext,
                      point: GrantPoint) -> list[roles.Role]:
    """The roles granted directly at this point (no groups, no implication)."""
    async with deps.read() as session:
        deps.policy.authorize("identity:list_grants", ctx,
                              await _policy_target(session, point, None))
        ids = (await session.execute(select(AssignmentRow.role_id).where(
            AssignmentRow.type == point.type, AssignmentRow.actor_id == point.actor_id,
            AssignmentRow.target_id == point.target_id,
            AssignmentRow.inherited.is_(point.inherited)))).scalars()
        return await roles.roles_by_ids(session, set(ids))


# --- role assignments ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AssignmentQuery:
    """`GET /v3/role_assignments` filters. `system` is the raw `scope.system` value and
    `inherited_to` the raw `scope.OS-INHERIT:inherited_to` value."""

    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    inherited_to: str | None = None
    effective: bool = False
    include_names: bool = False
    include_subtree: bool = False

    @property
    def inherited(self) -> bool | None:
        return None if self.inherited_to is None else self.inherited_to == "projects"

    @property
    def system_all(self) -> bool:
        return self.system == "all"


@dataclasses.dataclass(frozen=True)
class RoleAssignment:
    """One listed assignment. In effective mode the `via_*` fields say where it came from:
    a group membership, a grant inherited from a domain or parent project, a prior role."""

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool = False
    via_group_id: str | None = None
    via_project_id: str | None = None
    via_domain_id: str | None = None
    prior_role_id: str | None = None
    # With include_names: "role", "user", "group", "project", "domain" -> their embeds.
    names: dict[str, dict[str, Any]] | None = dataclasses.field(
        default=None, compare=False, hash=False)


def _check_query(q: AssignmentQuery) -> None:
    problems = [
        (q.domain_id and q.project_id, "Specify a domain or project, not both"),
        (q.system and q.domain_id, "Specify system or domain, not both"),
        (q.system and q.project_id, "Specify system or project, not both"),
        (q.user_id and q.group_id, "Specify a user or group, not both"),
        (q.effective and q.group_id,
         "Combining effective and group filter will always result in an empty list."),
        (q.effective and q.inherited and q.domain_id,
         "Combining effective, domain and inherited filters will always result in an "
         "empty list."),
        (q.include_subtree and not q.project_id,
         "scope.project.id must be specified if include_subtree is also specified"),
    ]
    for bad, message in problems:
        if bad:
            raise errors.ValidationError(detail=message)


async def list_role_assignments(deps: IdentityDeps, ctx: RequestContext,
                                q: AssignmentQuery) -> list[RoleAssignment]:
    """Assignments matching the filters; with `effective`, what actually reaches users:
    group grants become one entry per member, inherited grants one entry per project below,
    implied roles are added and domain-specific roles removed (they are not in tokens)."""
    _check_query(q)
    deps.policy.authorize("identity:list_role_assignments", ctx,
                          {"target": {"filter_user_id": q.user_id}})
    async with deps.read() as session:
        tree = _Tree(session)
        subtree: list[str] = []
        if q.project_id and q.include_subtree:
            if await session.get(ProjectRow, q.project_id) is None:
                raise errors.ProjectNotFound(project_id=q.project_id)
            subtree = await tree.descendants(q.project_id)
        if q.effective:
            found = await _effective(session, tree, q, subtree)
        else:
            found = await _direct(session, q, subtree)
        if q.include_names:
            found = await _with_names(session, found)
        return found


def _entry(row: AssignmentRow) -> RoleAssignment:
    is_user = row.type.startswith("User")
    scope = row.type[4:] if is_user else row.type[5:]
    return RoleAssignment(
        role_id=row.role_id, user_id=row.actor_id if is_user else None,
        group_id=None if is_user else row.actor_id,
        project_id=row.target_id if scope == "Project" else None,
        domain_id=row.target_id if scope == "Domain" else None,
        system=scope == "System", inherited=row.inherited)


def _ordered(query: Any) -> Any:
    return query.order_by(AssignmentRow.type, AssignmentRow.actor_id, AssignmentRow.target_id,
                          AssignmentRow.role_id, AssignmentRow.inherited)


async def _direct(session: AsyncSession, q: AssignmentQuery,
                  subtree: list[str]) -> list[RoleAssignment]:
    query = select(AssignmentRow)
    if q.role_id:
        query = query.where(AssignmentRow.role_id == q.role_id)
    if q.user_id:
        query = query.where(AssignmentRow.actor_id == q.user_id,
                            AssignmentRow.type.in_(USER_TYPES))
    elif q.group_id:
        query = query.where(AssignmentRow.actor_id == q.group_id,
                            AssignmentRow.type.in_(GROUP_TYPES))
    if q.project_id:
        query = query.where(AssignmentRow.type.in_(PROJECT_TYPES),
                            AssignmentRow.target_id.in_([q.project_id, *subtree]))
    elif q.domain_id:
        query = query.where(AssignmentRow.type.in_(DOMAIN_TYPES),
                            AssignmentRow.target_id == q.domain_id)
    elif q.system_all:
        query = query.where(AssignmentRow.type.in_(SYSTEM_TYPES))
    if q.inherited is not None:
        query = query.where(AssignmentRow.inherited.is_(q.inherited))
    rows = await session.execute(_ordered(query))
    return [_entry(r) for r in rows.scalars()]


class _Tree:
    """Project hierarchy and group members, looked up once per listing."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.children: dict[str, dict[str, list[str]]] = {}
        self.members: dict[str, list[str]] = {}

    async def _children_in(self, domain_id: str) -> dict[str, list[str]]:
        if domain_id not in self.children:
            rows = await self.session.execute(select(ProjectRow.id, ProjectRow.parent_id).where(
                ProjectRow.domain_id == domain_id).order_by(ProjectRow.id))
            children: dict[str, list[str]] = {}
            for project_id, parent_id in rows.all():
                children.setdefault(parent_id or domain_id, []).append(project_id)
            self.children[domain_id] = children
        return self.children[domain_id]

    async def descendants(self, project_id: str) -> list[str]:
        project = await self.session.get(ProjectRow, project_id)
        if project is None:
            return []
        children = await self._children_in(project.domain_id)
        found: list[str] = []
        frontier = [project_id]
        while frontier:
            current = frontier.pop(0)
            for child in children.get(current, []):
                if child not in found and child != project_id:
                    found.append(child)
                    frontier.append(child)
        return found

    async def in_domain(self, domain_id: str) -> list[str]:
        children = await self._children_in(domain_id)
        return sorted({p for kids in children.values() for p in kids})

    async def ancestors(self, project: ProjectRow) -> list[str]:
        found: list[str] = []
        parent_id = project.parent_id
        while parent_id is not None and parent_id not in found:
            parent = await self.session.get(ProjectRow, parent_id)
            if parent is None:
                break
            found.append(parent.id)
            parent_id = parent.parent_id
        return found

    async def users_in(self, group_id: str) -> list[str]:
        if group_id not in self.members:
            rows = await self.session.execute(select(MembershipRow.user_id).where(
                MembershipRow.group_id == group_id).order_by(MembershipRow.user_id))
            self.members[group_id] = list(rows.scalars())
        return self.members[group_id]


async def _effective_rows(session: AsyncSession, tree: _Tree, q: AssignmentQuery,
                          subtree: list[str]) -> list[AssignmentRow]:
    """The grants that can contribute to the effective assignments asked for."""
    inherited = False if q.domain_id else q.inherited
    targets: list[ColumnElement[bool]] = []
    if inherited is not True:
        if q.project_id:
            targets.append(and_(AssignmentRow.type.in_(PROJECT_TYPES),
                                AssignmentRow.target_id.in_([q.project_id, *subtree]),
                                AssignmentRow.inherited.is_(False)))
        elif q.domain_id:
            targets.append(and_(AssignmentRow.type.in_(DOMAIN_TYPES),
                                AssignmentRow.target_id == q.domain_id,
                                AssignmentRow.inherited.is_(False)))
        elif q.system_all:
            targets.append(AssignmentRow.type.in_(SYSTEM_TYPES))
        else:
            targets.append(AssignmentRow.inherited.is_(False))
    if inherited is not False and not q.system_all:
        if q.project_id:
            project = await session.get(ProjectRow, q.project_id)
            if project is not None:
                sources = await tree.ancestors(project)
                if subtree:
                    sources += [q.project_id, *subtree]
                targets.append(and_(AssignmentRow.type.in_(DOMAIN_TYPES),
                                    AssignmentRow.target_id == project.domain_id,
                                    AssignmentRow.inherited.is_(True)))
                targets.append(and_(AssignmentRow.type.in_(PROJECT_TYPES),
                                    AssignmentRow.target_id.in_(sources),
                                    AssignmentRow.inherited.is_(True)))
        else:
            targets.append(AssignmentRow.inherited.is_(True))
    if not targets:
        return []
    query = select(AssignmentRow).where(or_(*targets))
    if q.user_id:
        groups = list((await session.execute(select(MembershipRow.group_id).where(
            MembershipRow.user_id == q.user_id))).scalars())
        query = query.where(or_(
            and_(AssignmentRow.type.in_(USER_TYPES), AssignmentRow.actor_id == q.user_id),
            and_(AssignmentRow.type.in_(GROUP_TYPES), AssignmentRow.actor_id.in_(groups))))
    return list((await session.execute(_ordered(query))).scalars())


async def _effective(session: AsyncSession, tree: _Tree, q: AssignmentQuery,
                     subtree: list[str]) -> list[RoleAssignment]:
    refs: list[RoleAssignment] = []
    for row in await _effective_rows(session, tree, q, subtree):
        base = _entry(row)
        actors = [base]
        if base.group_id is not None:
            users = [q.user_id] if q.user_id else await tree.users_in(base.group_id)
            actors = [dataclasses.replace(base, user_id=u, group_id=None,
                                          via_group_id=base.group_id) for u in users]
        if not row.inherited:
            refs.extend(actors)
            continue
        projects = await _inherited_to(tree, row, q.project_id, subtree)
        via_project = row.target_id if base.project_id else None
        via_domain = None if base.project_id else row.target_id
        refs.extend(dataclasses.replace(a, project_id=p, domain_id=None, inherited=False,
                                        via_project_id=via_project, via_domain_id=via_domain)
                    for a in actors for p in projects)
    refs = await _add_implied(session, refs)
    role_ids = {r.role_id for r in refs}
    global_roles = {r.id for r in await roles.roles_by_ids(session, role_ids)
                    if r.domain_id is None}
    return [r for r in refs if r.role_id in global_roles
            and (q.role_id is None or r.role_id == q.role_id)]


async def _inherited_to(tree: _Tree, row: AssignmentRow, project_id: str | None,
                        subtree: list[str]) -> list[str]:
    """The projects an inherited grant reaches, narrowed to the filtered project(s)."""
    on_project = row.type in PROJECT_TYPES
    if project_id:
        projects = [project_id, *subtree]
        if on_project and row.target_id in projects:
            return await tree.descendants(row.target_id)
        return projects
    if on_project:
        return await tree.descendants(row.target_id)
    return await tree.in_domain(row.target_id)


async def _add_implied(session: AsyncSession,
                       refs: list[RoleAssignment]) -> list[RoleAssignment]:
    """Keystone's expansion: each implied role gets a copy of the entry that implies it."""
    implies: dict[str, list[str]] = {}
    for prior, implied in (await session.execute(
            select(ImpliedRoleRow.prior_role_id, ImpliedRoleRow.implied_role_id).order_by(
                ImpliedRoleRow.prior_role_id, ImpliedRoleRow.implied_role_id))).all():
        implies.setdefault(prior, []).append(implied)
    result = list(refs)
    pending = list(reversed(refs))
    checked: set[RoleAssignment] = set()
    while pending:
        ref = pending.pop()
        checked.add(ref)
        for implied_id in implies.get(ref.role_id, []):
            copy = dataclasses.replace(ref, role_id=implied_id, prior_role_id=ref.role_id)
            if copy not in checked:
                result.append(copy)
                pending.append(copy)
    return result


async def _with_names(session: AsyncSession,
                      refs: list[RoleAssignment]) -> list[RoleAssignment]:
    async def load(model: Any, ids: set[str]) -> dict[str, Any]:
        if not ids:
            return {}
        rows = await session.execute(select(model).where(model.id.in_(ids)))
        return {r.id: r for r in rows.scalars()}

    users = await load(UserRow, {r.user_id for r in refs if r.user_id})
    groups = await load(GroupRow, {r.group_id for r in refs if r.group_id})
    projects = await load(ProjectRow, {r.project_id for r in refs if r.project_id})
    role_rows = await load(RoleRow, {r.role_id for r in refs})
    role_map = {i: roles.to_role(r) for i, r in role_rows.items()}
    domain_ids = {r.domain_id for r in refs if r.domain_id}
    domain_ids |= {x.domain_id for x in [*users.values(), *groups.values(), *projects.values()]}
    domain_ids |= {r.domain_id for r in role_map.values() if r.domain_id}
    domains = {i: d.name for i, d in (await load(DomainRow, domain_ids)).items()}

    def owned(row: Any, entity_id: str) -> dict[str, Any]:
        if row is None:  # Keystone lists grants of vanished actors with empty names
            return {"id": entity_id, "name": "", "domain": {"id": "", "name": ""}}
        return {"id": entity_id, "name": row.name,
                "domain": {"id": row.domain_id, "name": domains.get(row.domain_id, "")}}

    named = []
    for ref in refs:
        names: dict[str, dict[str, Any]] = {}
        role = role_map.get(ref.role_id)
        names["role"] = {"id": ref.role_id, "name": role.name if role else ""}
        if role is not None and role.domain_id is not None:
            names["role"]["domain"] = {"id": role.domain_id,
                                       "name": domains.get(role.domain_id, "")}
        if ref.user_id:
            names["user"] = owned(users.get(ref.user_id), ref.user_id)
        if ref.group_id:
            names["group"] = owned(groups.get(ref.group_id), ref.group_id)
        if ref.project_id:
            names["project"] = owned(projects.get(ref.project_id), ref.project_id)
        if ref.domain_id:
            names["domain"] = {"id": ref.domain_id, "name": domains.get(ref.domain_id, "")}
        named.append(dataclasses.replace(ref, names=names))
    return named
