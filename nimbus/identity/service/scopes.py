"""What a user may scope a token to: `/v3/auth/projects`, `/auth/domains`, `/auth/system`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select

from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import AssignmentRow, DomainRow, ProjectRow
from nimbus.identity.service import effective
from nimbus.identity.views import self_links


async def projects_for_user(deps: IdentityDeps, user_id: str) -> list[ProjectRow]:
    async with deps.read() as session:
        actors = [user_id, *await effective.group_ids_of(session, user_id)]
        rows = await session.execute(select(AssignmentRow).where(
            AssignmentRow.actor_id.in_(actors)))
        project_ids: set[str] = set()
        inherited_domains: set[str] = set()
        for row in rows.scalars():
            if row.type in ("UserProject", "GroupProject"):
                project_ids.add(row.target_id)
            elif row.inherited and row.type in ("UserDomain", "GroupDomain"):
                inherited_domains.add(row.target_id)
        query = select(ProjectRow).where(ProjectRow.enabled.is_(True))
        if inherited_domains:
            query = query.where(ProjectRow.id.in_(project_ids)
                                | ProjectRow.domain_id.in_(inherited_domains))
        else:
            query = query.where(ProjectRow.id.in_(project_ids))
        return list((await session.execute(query.order_by(ProjectRow.name))).scalars())


async def domains_for_user(deps: IdentityDeps, user_id: str) -> list[DomainRow]:
    async with deps.read() as session:
        actors = [user_id, *await effective.group_ids_of(session, user_id)]
        ids = (await session.execute(select(AssignmentRow.target_id).where(
            AssignmentRow.actor_id.in_(actors),
            AssignmentRow.type.in_(("UserDomain", "GroupDomain")),
            AssignmentRow.inherited.is_(False)))).scalars()
        query = select(DomainRow).where(DomainRow.id.in_(set(ids)), DomainRow.enabled.is_(True))
        return list((await session.execute(query.order_by(DomainRow.name))).scalars())


async def has_system_roles(deps: IdentityDeps, user_id: str) -> bool:
    async with deps.read() as session:
        return bool(await effective.direct_role_ids(session, user_id, system=True))


def project_view(request: Request, row: ProjectRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "domain_id": row.domain_id,
            "description": row.description or "", "enabled": row.enabled,
            "parent_id": row.parent_id or row.domain_id, "is_domain": False,
            "links": self_links(request, f"projects/{row.id}")}


def domain_view(request: Request, row: DomainRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description or "",
            "enabled": row.enabled, "links": self_links(request, f"domains/{row.id}")}
