"""Request helpers for the network tests (paths under the all-in-one `/network` prefix), and
callers: fresh projects with a user holding a role."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from nimbus.identity.models import AssignmentRow, ProjectRow, RoleRow, UserRow
from nimbus.identity.service.passwords import hash_password
from tests.functional.conftest import Cloud

V2 = "/network/v2.0"
PASSWORD = "network-user-pw"


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
        session.add(ProjectRow(id=project_id, name=f"net-p-{suffix}", domain_id="default"))
        session.add(UserRow(id=user_id, name=f"net-u-{suffix}", domain_id="default",
                            password_hash=await hash_password(PASSWORD, 4)))
        await session.flush()
        session.add(AssignmentRow(type="UserProject", actor_id=user_id, target_id=project_id,
                                  role_id=role_id))
    token = await cloud.token(f"net-u-{suffix}", PASSWORD, project=f"net-p-{suffix}")
    return Caller(project_id=project_id, token=token)


def _path(resource: str) -> str:
    """The collection's path: `security_group` is `security-groups`."""
    return f"{resource.replace('_', '-')}s"


async def create(cloud: Cloud, headers: dict[str, str], resource: str,
                 **attrs: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V2}/{_path(resource)}", headers=headers, json={resource: attrs})
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()[resource]
    return created


async def show(cloud: Cloud, headers: dict[str, str], resource: str,
               item_id: str) -> dict[str, Any]:
    resp = await cloud.client.get(f"{V2}/{_path(resource)}/{item_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    shown: dict[str, Any] = resp.json()[resource]
    return shown


async def ids(cloud: Cloud, headers: dict[str, str], resource: str, query: str = "") -> list[str]:
    resp = await cloud.client.get(f"{V2}/{_path(resource)}{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()[f"{resource}s"]]


def assert_neutron_error(resp: httpx.Response, status: int, kind: str | None = None) -> None:
    """Neutron's error body: {"NeutronError": {"type", "message", "detail"}}."""
    assert resp.status_code == status, resp.text
    error = resp.json()["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    assert error["message"], error
    if kind is not None:
        assert error["type"] == kind, error
