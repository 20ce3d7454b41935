"""Users: CRUD, extra attributes, password changes, and what each does to tokens."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import func, select, update

from nimbus.identity.models import (
    ApplicationCredentialRow,
    AssignmentRow,
    CredentialRow,
    MembershipRow,
    RoleRow,
    UserRow,
)
from tests.functional.conftest import Cloud

V3 = "/identity/v3"
PW = "first-Secret-1"


async def make_user(cloud: Cloud, headers: dict[str, str], name: str, **attrs: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/users", headers=headers,
                                   json={"user": {"name": name, "password": PW, **attrs}})
    assert resp.status_code == 201, resp.text
    user: dict[str, Any] = resp.json()["user"]
    return user


async def member(cloud: Cloud, headers: dict[str, str], name: str) -> tuple[dict[str, Any], str]:
    """A user with the member role on the admin project: (user, project id)."""
    user = await make_user(cloud, headers, name)
    project_id = (await cloud.client.get(f"{V3}/projects?name=admin", headers=headers)).json()[
        "projects"][0]["id"]
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == "member"))
                   ).scalar_one()
        session.add(AssignmentRow(type="UserProject", actor_id=user["id"], target_id=project_id,
                                  role_id=role_id, inherited=False))
    return user, project_id


async def try_login(cloud: Cloud, name: str, password: str) -> int:
    resp = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    return resp.status_code


async def works(cloud: Cloud, token: str) -> bool:
    resp = await cloud.client.get(f"{V3}/auth/catalog", headers={"X-Auth-Token": token})
    assert resp.status_code in (200, 401), resp.text
    return resp.status_code == 200


async def test_create_user_keeps_extra_attributes_and_hides_the_password(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    headers = await cloud.admin_headers()
    project = (await cloud.client.get(f"{V3}/projects?name=admin", headers=headers)).json()[
        "projects"][0]
    caplog.set_level(logging.DEBUG)
    user = await make_user(cloud, headers, "alice", email="alice@example.com",
                           description="Alice", default_project_id=project["id"])

    assert user["name"] == "alice" and user["domain_id"] == "default" and user["enabled"] is True
    assert user["email"] == "alice@example.com" and user["description"] == "Alice"
    assert user["default_project_id"] == project["id"]
    assert user["password_expires_at"] is None and user["options"] == {}
    assert user["links"]["self"] == f"http://nimbus.test/identity/v3/users/{user['id']}"
    assert "password" not in user
    shown = await cloud.client.get(f"{V3}/users/{user['id']}", headers=headers)
    assert shown.json()["user"] == user
    assert PW not in shown.text and PW not in caplog.text
    assert await try_login(cloud, "alice", PW) == 401  # no role on the admin project yet
    unscoped = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user["id"], "password": PW}}}}})
    assert unscoped.status_code == 201


async def test_list_users_and_filters(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_user(cloud, headers, "bob")
    await make_user(cloud, headers, "carol", enabled=False)
    did = (await cloud.client.post(f"{V3}/domains", headers=headers,
                                   json={"domain": {"name": "d2"}})).json()["domain"]["id"]
    away = await make_user(cloud, headers, "bob", domain_id=did)

    async def listed(query: str) -> list[str]:
        resp = await cloud.client.get(f"{V3}/users?{query}", headers=headers)
        assert resp.status_code == 200, resp.text
        return sorted(u["name"] for u in resp.json()["users"])

    assert await listed("") == ["admin", "bob", "bob", "carol", "nimbus-service"]
    assert await listed("name=bob") == ["bob", "bob"]
    assert await listed(f"domain_id={did}") == ["bob"]
    assert await listed("enabled=false") == ["carol"]
    assert away["domain_id"] == did
    async with cloud.identity.write() as session:
        await session.execute(update(UserRow).where(UserRow.name == "carol").values(
            password_expires_at=dt.datetime(2030, 1, 1)))
    assert await listed("password_expires_at=lt:2031-01-01T00:00:00Z") == ["carol"]
    assert await listed("password_expires_at=gt:2031-01-01T00:00:00Z") == []
    bad = await cloud.client.get(f"{V3}/users?password_expires_at=lt:yesterday", headers=headers)
    assert bad.status_code == 400


async def test_duplicate_user_name_in_a_domain_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_user(cloud, headers, "dave")
    erin = await make_user(cloud, headers, "erin")

    again = await cloud.client.post(f"{V3}/users", headers=headers, json={"user": {"name": "dave"}})
    assert again.status_code == 409 and again.json()["error"]["code"] == 409
    rename = await cloud.client.patch(f"{V3}/users/{erin['id']}", headers=headers,
                                      json={"user": {"name": "dave"}})
    assert rename.status_code == 409


async def test_user_rules_on_domains_and_default_projects(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    unknown = await cloud.client.post(f"{V3}/users", headers=headers,
                                      json={"user": {"name": "x", "domain_id": "nope"}})
    assert unknown.status_code == 404
    as_domain = await cloud.client.post(f"{V3}/users", headers=headers,
                                        json={"user": {"name": "x", "default_project_id": "default"}})
    assert as_domain.status_code == 400
    user = await make_user(cloud, headers, "frank")
    move = await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers,
                                    json={"user": {"domain_id": "elsewhere"}})
    assert move.status_code == 400
    options = await cloud.client.post(f"{V3}/users", headers=headers,
                                      json={"user": {"name": "x", "options": {"bogus": True}}})
    assert options.status_code == 400
    names = [u["name"] for u in (await cloud.client.get(f"{V3}/users?name=x",
                                                        headers=headers)).json()["users"]]
    assert names == []


async def test_update_user_attributes(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user = await make_user(cloud, headers, "gina", email="g@example.com")

    resp = await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers, json={
        "user": {"name": "gina2", "email": "new@example.com", "phone": "555",
                 "options": {"ignore_password_expiry": True}}})

    assert resp.status_code == 200, resp.text
    updated = resp.json()["user"]
    assert updated["name"] == "gina2" and updated["email"] == "new@example.com"
    assert updated["phone"] == "555" and updated["options"] == {"ignore_password_expiry": True}
    assert (await cloud.client.get(f"{V3}/users/{user['id']}", headers=headers)).json()[
        "user"] == updated


async def test_admin_password_reset_revokes_tokens(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user, _ = await member(cloud, headers, "hank")
    token = await cloud.token("hank", PW)
    assert await works(cloud, token)

    resp = await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers,
                                    json={"user": {"password": "second-Secret-2"}})

    assert resp.status_code == 200 and "second-Secret-2" not in resp.text
    assert not await works(cloud, token)
    assert await try_login(cloud, "hank", PW) == 401
    assert await try_login(cloud, "hank", "second-Secret-2") == 201


async def test_disabling_a_user_fails_tokens_at_once_and_for_good(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user, _ = await member(cloud, headers, "ivan")
    token = await cloud.token("ivan", PW)
    assert await works(cloud, token)

    off = await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers,
                                   json={"user": {"enabled": False}})
    assert off.status_code == 200 and off.json()["user"]["enabled"] is False
    assert not await works(cloud, token)
    assert await try_login(cloud, "ivan", PW) == 401

    await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers,
                             json={"user": {"enabled": True}})
    assert not await works(cloud, token)
    assert await works(cloud, await cloud.token("ivan", PW))


async def test_delete_user_removes_what_refers_to_it(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user, project_id = await member(cloud, headers, "judy")
    token = await cloud.token("judy", PW)
    group = (await cloud.client.post(f"{V3}/groups", headers=headers,
                                     json={"group": {"name": "g"}})).json()["group"]
    await cloud.client.put(f"{V3}/groups/{group['id']}/users/{user['id']}", headers=headers)
    async with cloud.identity.write() as session:
        session.add(ApplicationCredentialRow(id="ac1", name="ac", user_id=user["id"],
                                             project_id=project_id, secret_hash="x", role_ids=[],
                                             access_rules=[]))
        session.add(CredentialRow(id="cr1", user_id=user["id"], type="ec2", blob="{}", extra={}))

    resp = await cloud.client.delete(f"{V3}/users/{user['id']}", headers=headers)

    assert resp.status_code == 204
    assert not await works(cloud, token)
    assert (await cloud.client.get(f"{V3}/users/{user['id']}", headers=headers)).status_code == 404
    assert (await cloud.client.delete(f"{V3}/users/{user['id']}", headers=headers)).status_code == 404
    async with cloud.identity.read() as session:
        counts = [await session.scalar(select(func.count()).select_from(model).where(column == user["id"]))
                  for model, column in ((AssignmentRow, AssignmentRow.actor_id),
                                        (MembershipRow, MembershipRow.user_id),
                                        (ApplicationCredentialRow, ApplicationCredentialRow.user_id),
                                        (CredentialRow, CredentialRow.user_id))]
    assert counts == [0, 0, 0, 0]
    users = (await cloud.client.get(f"{V3}/groups/{group['id']}/users", headers=headers)).json()
    assert users["users"] == []


async def test_self_service_password_change(cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    headers = await cloud.admin_headers()
    user, _ = await member(cloud, headers, "kate")
    token = await cloud.token("kate", PW)
    mine = {"X-Auth-Token": token}
    url = f"{V3}/users/{user['id']}/password"
    caplog.set_level(logging.DEBUG)

    wrong = await cloud.client.post(url, headers=mine, json={"user": {
        "original_password": "not-it", "password": "second-Secret-2"}})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 401
    assert await works(cloud, token)
    for body in ({"user": {"password": "x"}}, {"user": {"original_password": PW}},
                 {"user": {"original_password": PW, "password": 5}},
                 {"user": {"original_password": PW, "password": "x", "more": 1}}):
        assert (await cloud.client.post(url, headers=mine, json=body)).status_code == 400, body

    ok = await cloud.client.post(url, headers=mine, json={"user": {
        "original_password": PW, "password": "second-Secret-2"}})

    assert ok.status_code == 204
    assert not await works(cloud, token)
    assert await try_login(cloud, "kate", PW) == 401
    assert await try_login(cloud, "kate", "second-Secret-2") == 201
    assert "second-Secret-2" not in caplog.text and "not-it" not in caplog.text


async def test_users_see_themselves_but_not_others(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user, _ = await member(cloud, headers, "liam")
    other, _ = await member(cloud, headers, "mia")
    mine = {"X-Auth-Token": await cloud.token("liam", PW)}

    own = await cloud.client.get(f"{V3}/users/{user['id']}", headers=mine)
    assert own.status_code == 200 and own.json()["user"]["name"] == "liam"
    assert (await cloud.client.get(f"{V3}/users/{user['id']}/groups", headers=mine)).status_code == 200
    for method, path, body in (
            ("GET", "users", None), ("GET", f"users/{other['id']}", None),
            ("GET", "users/does-not-exist", None),
            ("POST", "users", {"user": {"name": "sneaky"}}),
            ("PATCH", f"users/{user['id']}", {"user": {"enabled": True}}),
            ("DELETE", f"users/{other['id']}", None),
            ("GET", f"users/{other['id']}/groups", None),
            ("POST", f"users/{other['id']}/password",
             {"user": {"original_password": PW, "password": "hijacked-1"}})):
        resp = await cloud.client.request(method, f"{V3}/{path}", headers=mine, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
    assert await try_login(cloud, "mia", PW) == 201


async def test_bad_user_requests_are_400_and_unknown_users_404(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), "Content-Type": "application/json"}
    bad = [b"{", b'{"user": {}}', b'{"user": {"name": 1}}', b'{"user": {"name": "x", "enabled": 0}}',
           b'{"user": {"name": "x", "password": 123}}', b'{"user": {"name": "x"}, "extra": 1}',
           b'{"user": {"name": "' + b"n" * 256 + b'"}}', b'{"user": {"name": "x", "email": "\\u0000"}}']
    for raw in bad:
        resp = await cloud.client.post(f"{V3}/users", headers=headers, content=raw)
        assert resp.status_code == 400, (raw, resp.text)
    assert (await cloud.client.patch(f"{V3}/users/nope", headers=headers,
                                     json={"user": {"name": "x"}})).status_code == 404
    user = await make_user(cloud, headers, "nora")
    for raw in (b'{"user": {}}', b'{"user": {"name": null}}', b'{"user": {"enabled": null}}'):
        resp = await cloud.client.patch(f"{V3}/users/{user['id']}", headers=headers, content=raw)
        assert resp.status_code == 400, (raw, resp.text)
    for path in ("users/nope", "users/nope/groups", "users/%00"):
        assert (await cloud.client.get(f"{V3}/{path}", headers=headers)).status_code == 404, path
    listed = (await cloud.client.get(f"{V3}/users?name=x", headers=headers)).json()["users"]
    assert listed == []
