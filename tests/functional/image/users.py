"""Callers for image tests: fresh projects with a user holding a role, written as identity rows."""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import select

from nimbus.identity.models import AssignmentRow, ProjectRow, RoleRow, UserRow
from nimbus.identity.service.passwords import hash_password
from tests.functional.conftest import Cloud

PASSWORD = "image-user-pw"


@dataclasses.dataclass(frozen=True)
class Caller:
    project_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


async def new_caller(cloud: Cloud, role: str = "member") -> Caller:
    """A project-scoped token of a new user holding `role` on a new project."""
    suffix = uuid.uuid4().hex[:8]
    user_id, project_id = uuid.uuid4().hex, uuid.uuid4().hex
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == role))).scalar_one()
        session.add(ProjectRow(id=project_id, name=f"img-p-{suffix}", domain_id="default"))
        session.add(UserRow(id=user_id, name=f"img-u-{suffix}", domain_id="default",
                            password_hash=await hash_password(PASSWORD, 4)))
        await session.flush()
        session.add(AssignmentRow(type="UserProject", actor_id=user_id, target_id=project_id,
                                  role_id=role_id))
    token = await cloud.token(f"img-u-{suffix}", PASSWORD, project=f"img-p-{suffix}")
    return Caller(project_id=project_id, token=token)
