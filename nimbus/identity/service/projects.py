"""Projects and their tags (`/v3/projects`, `/v3/users/{id}/projects`).

A project belongs to one domain and may have a parent project in the same domain. Top-level
projects store no parent and show the domain as their parent, as Keystone does (there a
domain is a project acting as a domain). Projects acting as domains are created and listed
through this API, but stored as domains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import AssignmentRow, DomainRow, ProjectRow, ProjectTagRow, UserRow
from nimbus.identity.service import domains, effective, revocation
from nimbus.identity.service.ids import new_id

# Keystone's max_project_tree_depth: levels of projects below the domain.
MAX_DEPTH = 5
MAX_TAGS = 80
_CORE = ("name", "description", "enabled", "tags", "domain_id", "parent_id", "is_domain")


@dataclasses.dataclass(frozen=True)
class ProjectFilters:
    domain_id: str | None = None
    name: str | None = None
    enabled: bool | None = None
    parent_id: str | None = None
    is_domain: bool | None = None
    tags: tuple[str, ...] = ()         # has all of them
    tags_any: tuple[str, ...] = ()     # has at least one
    not_tags: tuple[str, ...] = ()     # lacks at least one
    not_tags_any: tuple[str, ...] = ()  # has none


def project_ref(row: ProjectRow, tags: Sequence[str]) -> dict[str, Any]:
    return {"options": {}, **(row.extra or {}), "id": row.id, "name": row.name,
            "domain_id": row.domain_id, "description": row.description,
            "enabled": row.enabled, "parent_id": row.parent_id or row.domain_id,
            "is_domain": False, "tags": list(tags)}


def domain_as_project_ref(row: DomainRow) -> dict[str, Any]:
    ref = domains.domain_ref(row)
    return {**ref, "domain_id": None, "parent_id": None, "is_domain": True}


def check_tags(tags: Sequence[str]) -> None:
    """Keystone's tag rules: 1-255 characters, no '/' or ',', at most 80, no repeats."""
    for tag in tags:
        if not 0 < len(tag) <= 255 or "/" in tag or "," in tag or "\x00" in tag:
            raise id_errors.ValidationError(
                detail=f"Invalid project tag {tag!r}: tags are 1-255 characters without "
                       "'/' or ','.")
    if len(tags) > MAX_TAGS:
        raise id_errors.ValidationError(detail=f"A project has at most {MAX_TAGS} tags.")
    if len(set(tags)) != len(tags):
        raise id_errors.ValidationError(detail="Project tags must be unique.")


async def require_project(session: AsyncSession, project_id: str) -> ProjectRow:
    row = await session.get(ProjectRow, project_id) if domains.valid_id(project_id) else None
    if row is None:
        raise id_errors.ProjectNotFound(project_id=project_id)
    return row


async def _tags_of(session: AsyncSession, project_ids: Sequence[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {pid: [] for pid in project_ids}
    if project_ids:
        rows = await session.execute(select(ProjectTagRow.project_id, ProjectTagRow.name).where(
            ProjectTagRow.project_id.in_(list(project_ids))).order_by(ProjectTagRow.name))
        for project_id, name in rows:
            result[project_id].append(name)
    return result


async def _refs(session: AsyncSession, rows: Sequence[ProjectRow]) -> list[dict[str, Any]]:
    tags = await _tags_of(session, [row.id for row in rows])
    return [project_ref(row, tags[row.id]) for row in rows]


async def _ancestors(session: AsyncSession, row: ProjectRow) -> list[ProjectRow]:
    """Parent first, up to the top-level project."""
    chain: list[ProjectRow] = []
    parent_id = row.parent_id
    while parent_id is not None and all(p.id != parent_id for p in chain):
        parent = await session.get(ProjectRow, parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return chain


async def _children_by_parent(session: AsyncSession, root_id: str) -> dict[str, list[ProjectRow]]:
    """The subtree below `root_id`, as parent id -> children."""
    tree: dict[str, list[ProjectRow]] = {}
    frontier = [root_id]
    while frontier:
        rows = list((await session.execute(select(ProjectRow).where(
            ProjectRow.parent_id.in_(frontier)))).scalars())
        frontier = []
        for row in rows:
            if row.id not in tree:
                tree.setdefault(row.parent_id or "", []).append(row)
                tree[row.id] = []
                frontier.append(row.id)
    return tree


def _subtree_rows(tree: dict[str, list[ProjectRow]], root_id: str) -> list[ProjectRow]:
    result, stack = [], list(tree.get(root_id, []))
    while stack:
        row = stack.pop()
        result.append(row)
        stack.extend(tree.get(row.id, []))
    return result


# --- listing -----------------------------------------------------------------------------

def _tag_conditions(f: ProjectFilters) -> list[ColumnElement[bool]]:
    def has(tag: str) -> ColumnElement[bool]:
        return exists().where(ProjectTagRow.project_id == ProjectRow.id,
                              ProjectTagRow.name == tag)

    def has_any(tags: Sequence[str]) -> ColumnElement[bool]:
        return exists().where(ProjectTagRow.project_id == ProjectRow.id,
                              ProjectTagRow.name.in_(list(tags)))

    conditions: list[ColumnElement[bool]] = [has(tag) for tag in f.tags]
    if f.tags_any:
        conditions.append(has_any(f.tags_any))
    if f.not_tags:
        conditions.append(not_(and_(*[has(tag) for tag in f.not_tags])))
    if f.not_tags_any:
        conditions.append(not_(has_any(f.not_tags_any)))
    return conditions


async def list_projects(deps: IdentityDeps, ctx: RequestContext,
                        filters: ProjectFilters) -> list[dict[str, Any]]:
    deps.policy.authorize("identity:list_projects", ctx, {})
    async with deps.read() as session:
        if filters.is_domain:
            return await _list_domains_as_projects(session, filters)
        query = select(ProjectRow).where(*_tag_conditions(filters)).order_by(ProjectRow.name)
        if filters.domain_id is not None:
            query = query.where(ProjectRow.domain_id == filters.domain_id)
        if filters.name is not None:
            query = query.where(ProjectRow.name == filters.name)
        if filters.enabled is not None:
            query = query.where(ProjectRow.enabled.is_(filters.enabled))
        if filters.parent_id is not None:
            query = query.where(or_(
                ProjectRow.parent_id == filters.parent_id,
                and_(ProjectRow.parent_id.is_(None), ProjectRow.domain_id == filters.parent_id)))
        return await _refs(session, list((await session.execute(query)).scalars()))


async def _list_domains_as_projects(session: AsyncSession,
                                    filters: ProjectFilters) -> list[dict[str, Any]]:
    if filters.domain_id is not None or filters.parent_id is not None or filters.tags \
            or filters.tags_any:
        return []
    query = select(DomainRow).order_by(DomainRow.name)
    if filters.name is not None:
        query = query.where(DomainRow.name == filters.name)
    if filters.enabled is not None:
        query = query.where(DomainRow.enabled.is_(filters.enabled))
    return [domain_as_project_ref(row) for row in (await session.execute(query)).scalars()]


async def list_projects_for_user(deps: IdentityDeps, ctx: RequestContext, user_id: str, *,
                                 domain_id: str | None = None, name: str | None = None,
                                 enabled: bool | None = None) -> list[dict[str, Any]]:
    """Projects where the user, or one of their groups, holds a role: directly, inherited
    from the domain, or inherited from an ancestor project."""
    deps.policy.authorize("identity:list_user_projects", ctx, {"target": {"user": {"id": user_id}}})
    async with deps.read() as session:
        if not domains.valid_id(user_id) or await session.get(UserRow, user_id) is None:
            raise id_errors.UserNotFound(user_id=user_id)
        ids = await project_ids_for_user(session, user_id)
        query = select(ProjectRow).where(ProjectRow.id.in_(ids)).order_by(ProjectRow.name)
        if domain_id is not None:
            query = query.where(ProjectRow.domain_id == domain_id)
        if name is not None:
            query = query.where(ProjectRow.name == name)
        if enabled is not None:
            query = query.where(ProjectRow.enabled.is_(enabled))
        return await _refs(session, list((await session.execute(query)).scalars()))


async def project_ids_for_user(session: AsyncSession, user_id: str) -> set[str]:
    actors = [user_id, *await effective.group_ids_of(session, user_id)]
    grants = (await session.execute(select(AssignmentRow).where(
        AssignmentRow.actor_id.in_(actors)))).scalars()
    ids: set[str] = set()
    for grant in grants:
        if grant.type in ("UserProject", "GroupProject"):
            if grant.inherited:
                tree = await _children_by_parent(session, grant.target_id)
                ids.update(row.id for row in _subtree_rows(tree, grant.target_id))
            else:
                ids.add(grant.target_id)
        elif grant.type in ("UserDomain", "GroupDomain") and grant.inherited:
            ids.update((await session.execute(select(ProjectRow.id).where(
                ProjectRow.domain_id == grant.target_id))).scalars())
    return ids


# --- one project -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """What `GET /projects/{id}` may add: parents and subtree, as ids or as lists."""
    parents_as_ids: bool = False
    parents_as_list: bool = False
    subtree_as_ids: bool = False
    subtree_as_list: bool = False


async def _is_domain(deps: IdentityDeps, project_id: str) -> bool:
    """Keystone's domains are projects with is_domain true: /projects/{id} reaches them too."""
    async with deps.read() as session:
        return await session.get(DomainRow, project_id) is not None


def domain_as_project_ref_of(domain: dict[str, Any]) -> dict[str, Any]:
    return {**domain, "domain_id": None, "parent_id": None, "is_domain": True, "tags": []}


def _target(project_id: str) -> dict[str, Any]:
    return {"target": {"project": {"id": project_id}}}


async def get_project(deps: IdentityDeps, ctx: RequestContext, project_id: str,
                      hierarchy: Hierarchy = Hierarchy()) -> dict[str, Any]:
    """The project; `parents`/`subtree` as nested id dicts, or as lists of the projects the
    caller holds a role on (Keystone's rule, even for admins)."""
    if hierarchy.parents_as_ids and hierarchy.parents_as_list:
        raise id_errors.ValidationError(
            detail="Cannot use parents_as_list and parents_as_ids query params at the same time.")
    if hierarchy.subtree_as_ids and hierarchy.subtree_as_list:
        raise id_errors.ValidationError(
            detail="Cannot use subtree_as_list and subtree_as_ids query params at the same time.")
    deps.policy.authorize("identity:get_project", ctx, _target(project_id))
    if await _is_domain(deps, project_id):
        return domain_as_project_ref_of(await domains.get_domain(deps, ctx, project_id))
    async with deps.read() as session:
        row = await require_project(session, project_id)
        ref = (await _refs(session, [row]))[0]
        mine: set[str] = set()
        if hierarchy.parents_as_list or hierarchy.subtree_as_list:
            mine = await project_ids_for_user(session, ctx.user_id or "")
        if hierarchy.parents_as_ids or hierarchy.parents_as_list:
            parents = await _ancestors(session, row)
            if hierarchy.parents_as_list:
                ref["parents"] = await _refs(session, [p for p in parents if p.id in mine])
            else:
                nested: dict[str, Any] | None = {row.domain_id: None}
                for parent in reversed(parents):
                    nested = {parent.id: nested}
                ref["parents"] = nested
        if hierarchy.subtree_as_ids or hierarchy.subtree_as_list:
            tree = await _children_by_parent(session, row.id)
            if hierarchy.subtree_as_list:
                ref["subtree"] = await _refs(
                    session, [p for p in _subtree_rows(tree, row.id) if p.id in mine])
            else:
                ref["subtree"] = _ids_tree(tree, row.id)
        return ref


def _ids_tree(tree: dict[str, list[ProjectRow]], root_id: str) -> dict[str, Any] | None:
    children = tree.get(root_id)
    if not children:
        return None
    return {child.id: _ids_tree(tree, child.id) for child in children}


async def create_project(deps: IdentityDeps, ctx: RequestContext, *, name: str,
                         domain_id: str | None = None, parent_id: str | None = None,
                         description: str | None = "", enabled: bool = True,
                         is_domain: bool = False, tags: Sequence[str] = (),
                         extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create a project under `parent_id`, or at the top of `domain_id` (by default the
    token's domain). An unknown domain or parent, or a parent in another domain, is 400; a
    disabled parent chain is 400; a tree deeper than MAX_DEPTH is 403; a name taken in the
    domain is 409."""
    deps.policy.authorize("identity:create_project", ctx, {"target": {"project": {
        "domain_id": domain_id, "parent_id": parent_id}}})
    name = name.strip()
    if not name:
        raise id_errors.ValidationError(detail="A project name cannot be blank.")
    check_tags(tags)
    async with deps.write() as session:
        if is_domain:
            if domain_id is not None or parent_id is not None:
                raise id_errors.ValidationError(
                    detail="A project acting as a domain has no domain_id and no parent_id.")
            domain = await domains.add_domain(
                session, name=name, description=description, enabled=enabled,
                explicit_id=None, extra={**(extra or {}), **({"tags": list(tags)} if tags else {})})
            return domain_as_project_ref(domain)
        domain_id, parent = await _placement(session, ctx, domain_id, parent_id)
        if await session.scalar(select(ProjectRow.id).where(
                ProjectRow.domain_id == domain_id, ProjectRow.name == name)) is not None:
            raise id_errors.DuplicateEntry(kind="project", field="name", value=name)
        row = ProjectRow(id=new_id(), name=name, domain_id=domain_id,
                         parent_id=parent.id if parent else None, description=description,
                         enabled=enabled, extra=domains.clean_extra(extra or {}))
        session.add(row)
        session.add_all(ProjectTagRow(project_id=row.id, name=tag) for tag in tags)
        await domains.flush_unique(session, "project", name)
        return project_ref(row, sorted(tags))


async def _placement(session: AsyncSession, ctx: RequestContext, domain_id: str | None,
                     parent_id: str | None) -> tuple[str, ProjectRow | None]:
    """The domain and parent project of a new project, checked as Keystone does."""
    parent: ProjectRow | None = None
    if parent_id is not None:
        valid = domains.valid_id(parent_id)
        parent = await session.get(ProjectRow, parent_id) if valid else None
        if parent is not None:
            if domain_id is not None and domain_id != parent.domain_id:
                raise id_errors.ValidationError(detail=(
                    f"Cannot create project, since it specifies its domain_id {domain_id}, but "
                    f"specifies a parent in a different domain ({parent.domain_id})."))
            domain_id = parent.domain_id
        elif valid and await session.get(DomainRow, parent_id) is not None:
            if domain_id is not None and domain_id != parent_id:
                raise id_errors.ValidationError(detail=(
                    f"Cannot create project, the parent ({parent_id}) is acting as a domain, "
                    f"but this project's domain id ({domain_id}) does not match the parent's id."))
            domain_id = parent_id
        else:
            raise id_errors.ValidationError(detail=f"Could not find project: {parent_id}.")
    domain_id = domains.domain_for_create(ctx, domain_id)
    domain = await session.get(DomainRow, domain_id) if domains.valid_id(domain_id) else None
    if domain is None:
        raise id_errors.ValidationError(detail=f"Could not find domain: {domain_id}.")
    if parent is not None:
        chain = [parent, *await _ancestors(session, parent)]
        disabled = [p.id for p in chain if not p.enabled]
        if disabled:
            raise id_errors.ValidationError(detail=(
                f"cannot create a project in a branch containing a disabled project: "
                f"{disabled[0]}"))
        if len(chain) + 1 > MAX_DEPTH:
            raise errors.Forbidden(f"Max hierarchy depth reached for {parent.id} branch.")
    if not domain.enabled:
        raise id_errors.ValidationError(
            detail=f"cannot create a project in a branch containing a disabled project: "
                   f"{domain.id}")
    return domain_id, parent


async def update_project(deps: IdentityDeps, ctx: RequestContext, project_id: str,
                         changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `changes` (only what the client sent). The domain, parent and is_domain never
    change. Disabling needs the subtree disabled first, enabling needs enabled parents (403
    otherwise); a disabled project's tokens fail at once."""
    deps.policy.authorize("identity:update_project", ctx, _target(project_id))
    changes = dict(changes)
    if changes.pop("id", project_id) != project_id:
        raise id_errors.ValidationError(detail="Cannot change ID")
    if await _is_domain(deps, project_id):
        changes.pop("is_domain", None)
        changes.pop("domain_id", None)
        changes.pop("parent_id", None)
        return domain_as_project_ref_of(await domains.update_domain(deps, ctx, project_id, changes))
    async with deps.write() as session:
        row = await require_project(session, project_id)
        if changes.get("domain_id", row.domain_id) != row.domain_id:
            raise id_errors.ValidationError(detail="Update of `domain_id` is not allowed.")
        if changes.get("parent_id", row.parent_id or row.domain_id) != (row.parent_id
                                                                        or row.domain_id):
            raise errors.Forbidden("Update of `parent_id` is not allowed.")
        if changes.get("is_domain", False):
            raise id_errors.ValidationError(detail="Update of `is_domain` is not allowed.")
        if "name" in changes:
            await _rename(session, row, changes["name"])
        if "description" in changes:
            row.description = changes["description"]
        if "enabled" in changes and changes["enabled"] != row.enabled:
            await _set_enabled(session, row, changes["enabled"])
        if "tags" in changes:
            await _replace_tags(session, row.id, changes["tags"])
        extra = domains.clean_extra({k: v for k, v in changes.items() if k not in _CORE})
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await domains.flush_unique(session, "project", row.name)
        return (await _refs(session, [row]))[0]


async def _rename(session: AsyncSession, row: ProjectRow, name: str) -> None:
    name = name.strip()
    if not name:
        raise id_errors.ValidationError(detail="A project name cannot be blank.")
    if name != row.name and await session.scalar(select(ProjectRow.id).where(
            ProjectRow.domain_id == row.domain_id, ProjectRow.name == name)) is not None:
        raise id_errors.DuplicateEntry(kind="project", field="name", value=name)
    row.name = name


async def _set_enabled(session: AsyncSession, row: ProjectRow, enabled: bool) -> None:
    if enabled:
        if any(not p.enabled for p in await _ancestors(session, row)):
            raise errors.Forbidden(f"Cannot enable project {row.id} since it has disabled parents")
    else:
        tree = await _children_by_parent(session, row.id)
        if any(p.enabled for p in _subtree_rows(tree, row.id)):
            raise errors.Forbidden(
                f"Cannot disable project {row.id} since its subtree contains enabled projects.")
        await revocation.record(session, project_id=row.id)
    row.enabled = enabled


async def delete_project(deps: IdentityDeps, ctx: RequestContext, project_id: str) -> None:
    """Delete a leaf project with its tags, grants and scoped credentials (403 if it has
    children); tokens scoped to it fail at once."""
    deps.policy.authorize("identity:delete_project", ctx, _target(project_id))
    if await _is_domain(deps, project_id):
        await domains.delete_domain(deps, ctx, project_id)
        return
    async with deps.write() as session:
        await require_project(session, project_id)
        if await session.scalar(select(ProjectRow.id).where(
                ProjectRow.parent_id == project_id).limit(1)) is not None:
            raise errors.Forbidden(
                f"Cannot delete the project {project_id} since it is not a leaf in the "
                "hierarchy. Use the cascade option if you want to delete a whole subtree.")
        await domains.purge_projects(session, [project_id])
        await revocation.record(session, project_id=project_id)


# --- tags --------------------------------------------------------------------------------

async def _replace_tags(session: AsyncSession, project_id: str, tags: Sequence[str]) -> None:
    check_tags(tags)
    await session.execute(delete(ProjectTagRow).where(ProjectTagRow.project_id == project_id))
    session.add_all(ProjectTagRow(project_id=project_id, name=tag) for tag in tags)


async def list_tags(deps: IdentityDeps, ctx: RequestContext, project_id: str) -> list[str]:
    deps.policy.authorize("identity:project_tags", ctx, _target(project_id))
    async with deps.read() as session:
        await require_project(session, project_id)
        return (await _tags_of(session, [project_id]))[project_id]


async def replace_tags(deps: IdentityDeps, ctx: RequestContext, project_id: str,
                       tags: Sequence[str]) -> list[str]:
    deps.policy.authorize("identity:update_project_tags", ctx, _target(project_id))
    check_tags(tags)
    async with deps.write() as session:
        await require_project(session, project_id)
        await _replace_tags(session, project_id, tags)
    return sorted(tags)


async def check_tag(deps: IdentityDeps, ctx: RequestContext, project_id: str, tag: str) -> None:
    """Returns if the project has the tag; ProjectTagNotFound (404) if not."""
    deps.policy.authorize("identity:project_tags", ctx, _target(project_id))
    async with deps.read() as session:
        await require_project(session, project_id)
        if tag not in (await _tags_of(session, [project_id]))[project_id]:
            raise id_errors.ProjectTagNotFound(project_tag=tag)


async def add_tag(deps: IdentityDeps, ctx: RequestContext, project_id: str, tag: str) -> None:
    """Add one tag. As in Keystone, a tag the project already has is a 400 (tags are a set
    with unique items), and so is an 81st tag."""
    deps.policy.authorize("identity:update_project_tags", ctx, _target(project_id))
    async with deps.write() as session:
        await require_project(session, project_id)
        current = (await _tags_of(session, [project_id]))[project_id]
        check_tags([*current, tag])
        session.add(ProjectTagRow(project_id=project_id, name=tag))


async def delete_tag(deps: IdentityDeps, ctx: RequestContext, project_id: str, tag: str) -> None:
    deps.policy.authorize("identity:update_project_tags", ctx, _target(project_id))
    if "\x00" in tag:
        raise id_errors.ProjectTagNotFound(project_tag=tag)
    async with deps.write() as session:
        await require_project(session, project_id)
        result = await session.execute(delete(ProjectTagRow).where(
            ProjectTagRow.project_id == project_id, ProjectTagRow.name == tag))
        if not getattr(result, "rowcount", 0):
            raise id_errors.ProjectTagNotFound(project_tag=tag)


async def delete_all_tags(deps: IdentityDeps, ctx: RequestContext, project_id: str) -> None:
    deps.policy.authorize("identity:update_project_tags", ctx, _target(project_id))
    async with deps.write() as session:
        await require_project(session, project_id)
        await session.execute(delete(ProjectTagRow).where(ProjectTagRow.project_id == project_id))
