"""Effective roles: direct grants, group grants, inherited domain grants, implied roles.

This is what a token carries and what `role_assignments?effective` lists.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.identity.models import (
    AssignmentRow,
    ImpliedRoleRow,
    MembershipRow,
    ProjectRow,
    RoleRow,
)

SYSTEM_TARGET = "system"


async def group_ids_of(session: AsyncSession, user_id: str) -> list[str]:
    rows = await session.execute(
        select(MembershipRow.group_id).where(MembershipRow.user_id == user_id))
    return list(rows.scalars())


async def direct_role_ids(session: AsyncSession, user_id: str, *, project_id: str | None = None,
                          domain_id: str | None = None, system: bool = False) -> set[str]:
    """Roles granted on the scope, to the user or their groups, before implication."""
    actors = [user_id, *await group_ids_of(session, user_id)]
    clauses = []
    if project_id is not None:
        project = await session.get(ProjectRow, project_id)
        if project is None:
            return set()
        clauses.append(and_(AssignmentRow.type.in_(("UserProject", "GroupProject")),
                            AssignmentRow.target_id == project_id,
                            AssignmentRow.inherited.is_(False)))
        # Inherited grants on the project's domain or its ancestors reach the project.
        ancestors = [project.domain_id]
        parent = project.parent_id
        while parent is not None and parent not in ancestors:
            ancestors.append(parent)
            parent_row = await session.get(ProjectRow, parent)
            parent = parent_row.parent_id if parent_row is not None else None
        clauses.append(and_(AssignmentRow.target_id.in_(ancestors),
                            AssignmentRow.inherited.is_(True)))
    elif domain_id is not None:
        clauses.append(and_(AssignmentRow.type.in_(("UserDomain", "GroupDomain")),
                            AssignmentRow.target_id == domain_id,
                            AssignmentRow.inherited.is_(False)))
    elif system:
        clauses.append(and_(AssignmentRow.type.in_(("UserSystem", "GroupSystem")),
                            AssignmentRow.target_id == SYSTEM_TARGET))
    else:
        return set()
    rows = await session.execute(select(AssignmentRow.role_id).where(
        AssignmentRow.actor_id.in_(actors), or_(*clauses)))
    return set(rows.scalars())


async def expand_implied(session: AsyncSession, role_ids: set[str]) -> set[str]:
    """The roles plus every role they imply, transitively."""
    result = set(role_ids)
    frontier = set(role_ids)
    while frontier:
        rows = await session.execute(select(ImpliedRoleRow.implied_role_id).where(
            ImpliedRoleRow.prior_role_id.in_(frontier)))
        frontier = set(rows.scalars()) - result
        result |= frontier
    return result


async def effective_roles(session: AsyncSession, user_id: str, *, project_id: str | None = None,
                          domain_id: str | None = None, system: bool = False) -> list[RoleRow]:
    direct = await direct_role_ids(session, user_id, project_id=project_id,
                                   domain_id=domain_id, system=system)
    if not direct:
        return []
    ids = await expand_implied(session, direct)
    rows = await session.execute(select(RoleRow).where(RoleRow.id.in_(ids)).order_by(RoleRow.name))
    return list(rows.scalars())
