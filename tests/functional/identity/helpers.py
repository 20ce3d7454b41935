"""Shared steps of the identity tests: rows the users and projects API would create, roles,
password tokens and token validation."""

from __future__ import annotations

from typing import Any

from nimbus.identity.models import DomainRow, GroupRow, MembershipRow, ProjectRow, UserRow
from nimbus.identity.service import passwords
from nimbus.identity.service.ids import new_id
from tests.functional.conftest import Cloud

V3 = "/identity/v3"
PASSWORD = "user-secret-pw"


async def make_domain(cloud: Cloud, name: str) -> str:
    domain_id = new_id()
    async with cloud.identity.write() as session:
        session.add(DomainRow(id=domain_id, name=name, enabled=True, extra={}))
    return domain_id


async def make_project(cloud: Cloud, name: str, domain_id: str = "default",
                       parent_id: str | None = None) -> str:
    project_id = new_id()
    async with cloud.identity.write() as session:
        session.add(ProjectRow(id=project_id, name=name, domain_id=domain_id, parent_id=parent_id,
                               enabled=True, extra={}))
    return project_id


async def make_user(cloud: Cloud, name: str, domain_id: str = "default") -> str:
    user_id = new_id()
    hashed = await passwords.hash_password(PASSWORD, 4)
    async with cloud.identity.write() as session:
        session.add(UserRow(id=user_id, name=name, domain_id=domain_id, enabled=True,
                            password_hash=hashed, extra={}, options={}))
    return user_id


async def make_group(cloud: Cloud, name: str, *members: str, domain_id: str = "default") -> str:
    group_id = new_id()
    async with cloud.identity.write() as session:
        session.add(GroupRow(id=group_id, name=name, domain_id=domain_id, extra={}))
        await session.flush()
        for user_id in members:
            session.add(MembershipRow(user_id=user_id, group_id=group_id))
    return group_id


async def role_id(cloud: Cloud, name: str) -> str:
    resp = await cloud.client.get(f"{V3}/roles?name={name}", headers=await cloud.admin_headers())
    return str(resp.json()["roles"][0]["id"])


async def create_role(cloud: Cloud, name: str, **attrs: Any) -> str:
    resp = await cloud.client.post(f"{V3}/roles", json={"role": {"name": name, **attrs}},
                                   headers=await cloud.admin_headers())
    assert resp.status_code == 201, resp.text
    return str(resp.json()["role"]["id"])


async def password_auth(cloud: Cloud, user_id: str, scope: dict[str, Any] | None) -> Any:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user_id, "password": PASSWORD}}}, "scope": scope or "unscoped"}}
    return await cloud.client.post(f"{V3}/auth/tokens", json=body)


async def user_token(cloud: Cloud, user_id: str, scope: dict[str, Any] | None) -> str:
    """A password token for `user_id`; scope None asks for an unscoped token."""
    resp = await password_auth(cloud, user_id, scope)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


async def validate(cloud: Cloud, token: str) -> Any:
    """GET /auth/tokens as admin: the token body, or the status code when not valid."""
    headers = {**await cloud.admin_headers(), "X-Subject-Token": token}
    resp = await cloud.client.get(f"{V3}/auth/tokens", headers=headers)
    return resp.json()["token"] if resp.status_code == 200 else resp.status_code
