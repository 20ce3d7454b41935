"""Non-admin callers for compute tests: a fresh project with a member, written as identity rows,
and the project a token is scoped to."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from nimbus.identity.models import AssignmentRow, ProjectRow, RoleRow, UserRow
from nimbus.identity.service.passwords import hash_password
from tests.functional.conftest import Cloud

PASSWORD = "member-pw"


async def member_token(cloud: Cloud, role: str = "member") -> str:
    """A project-scoped token of a new user holding `role` on a new project."""
    suffix = uuid.uuid4().hex[:8]
    user_id, project_id = uuid.uuid4().hex, uuid.uuid4().hex
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == role))).scalar_one()
        session.add(ProjectRow(id=project_id, name=f"p-{suffix}", domain_id="default"))
        session.add(UserRow(id=user_id, name=f"u-{suffix}", domain_id="default",
                            password_hash=await hash_password(PASSWORD, 4)))
        await session.flush()
        session.add(AssignmentRow(type="UserProject", actor_id=user_id, target_id=project_id,
                                  role_id=role_id))
    return await cloud.token(f"u-{suffix}", PASSWORD, project=f"p-{suffix}")


async def project_of(cloud: Cloud, token: str) -> str:
    resp = await cloud.client.get("/identity/v3/auth/tokens",
                                  headers={"X-Auth-Token": token, "X-Subject-Token": token})
    project_id: str = resp.json()["token"]["project"]["id"]
    return project_id
