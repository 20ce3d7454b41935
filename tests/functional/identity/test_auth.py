"""Tokens: issue, scope, validate, revoke, and their failure modes (Keystone v3 contract)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from nimbus.core import tokens
from nimbus.identity.models import AssignmentRow, UserRow
from tests.functional.conftest import ADMIN_PASSWORD, Cloud


def password_body(password: str = ADMIN_PASSWORD, scope: object = None) -> dict[str, object]:
    body: dict[str, object] = {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"name": "Default"}, "password": password}}}}
    if scope is not None:
        body["scope"] = scope
    return {"auth": body}


async def test_password_token_is_project_scoped_with_catalog_and_implied_roles(cloud: Cloud) -> None:
    resp = await cloud.client.post("/identity/v3/auth/tokens", json=password_body(
        scope={"project": {"name": "admin", "domain": {"id": "default"}}}))
    assert resp.status_code == 201
    assert resp.headers["X-Subject-Token"]
    assert resp.headers["X-Openstack-Request-Id"].startswith("req-")
    token = resp.json()["token"]
    assert token["methods"] == ["password"]
    assert token["project"]["name"] == "admin"
    assert token["user"]["name"] == "admin"
    assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
    types = {entry["type"] for entry in token["catalog"]}
    assert {"identity", "compute", "image", "network", "block-storage", "volumev3",
            "placement"} <= types
    volume = next(e for e in token["catalog"] if e["type"] == "volumev3")
    assert all(ep["url"].endswith(token["project"]["id"]) for ep in volume["endpoints"])


async def test_wrong_password_is_401_in_keystone_shape(cloud: Cloud) -> None:
    resp = await cloud.client.post("/identity/v3/auth/tokens", json=password_body("nope"))
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert error["code"] == 401 and error["title"] == "Unauthorized"
    assert "nope" not in resp.text


async def test_unknown_user_is_401(cloud: Cloud) -> None:
    body = password_body()
    body["auth"]["identity"]["password"]["user"]["name"] = "ghost"  # type: ignore[index]
    resp = await cloud.client.post("/identity/v3/auth/tokens", json=body)
    assert resp.status_code == 401


async def test_malformed_auth_bodies_are_400(cloud: Cloud) -> None:
    bad = [b"{not json", b'{"auth": {}}', b'{"auth": {"identity": {"methods": "password"}}}',
           b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {}}}}}']
    for raw in bad:
        resp = await cloud.client.post("/identity/v3/auth/tokens", content=raw,
                                       headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (raw, resp.text)
        assert resp.json()["error"]["code"] == 400


async def test_explicit_unscoped_token_has_no_roles_or_catalog(cloud: Cloud) -> None:
    resp = await cloud.client.post("/identity/v3/auth/tokens",
                                   json=password_body(scope="unscoped"))
    assert resp.status_code == 201
    token = resp.json()["token"]
    assert "project" not in token and "roles" not in token and "catalog" not in token


async def test_domain_scoped_token(cloud: Cloud) -> None:
    resp = await cloud.client.post("/identity/v3/auth/tokens",
                                   json=password_body(scope={"domain": {"id": "default"}}))
    assert resp.status_code == 201
    assert resp.json()["token"]["domain"] == {"id": "default", "name": "Default"}


async def test_token_method_rescopes_and_keeps_expiry_and_audit_chain(cloud: Cloud) -> None:
    first = await cloud.client.post("/identity/v3/auth/tokens", json=password_body(scope="unscoped"))
    unscoped = first.headers["X-Subject-Token"]
    resp = await cloud.client.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert resp.status_code == 201
    token = resp.json()["token"]
    assert token["project"]["name"] == "admin"
    assert token["expires_at"] == first.json()["token"]["expires_at"]
    assert token["audit_ids"][1] == first.json()["token"]["audit_ids"][0]


async def test_validate_check_and_revoke(cloud: Cloud) -> None:
    admin = await cloud.token()
    subject = await cloud.token()
    headers = {"X-Auth-Token": admin, "X-Subject-Token": subject}
    shown = await cloud.client.get("/identity/v3/auth/tokens", headers=headers)
    assert shown.status_code == 200
    assert shown.headers["X-Subject-Token"] == subject
    assert "catalog" in shown.json()["token"]
    bare = await cloud.client.get("/identity/v3/auth/tokens?nocatalog", headers=headers)
    assert "catalog" not in bare.json()["token"]
    assert (await cloud.client.head("/identity/v3/auth/tokens", headers=headers)).status_code == 200
    assert (await cloud.client.delete("/identity/v3/auth/tokens", headers=headers)).status_code == 204
    assert (await cloud.client.get("/identity/v3/auth/tokens", headers=headers)).status_code == 404
    used = await cloud.client.get("/identity/v3/auth/projects", headers={"X-Auth-Token": subject})
    assert used.status_code == 401
    assert used.headers["WWW-Authenticate"].startswith("Keystone uri=")


async def test_missing_or_garbage_token_is_401(cloud: Cloud) -> None:
    assert (await cloud.client.get("/identity/v3/auth/projects")).status_code == 401
    resp = await cloud.client.get("/identity/v3/auth/projects", headers={"X-Auth-Token": "junk"})
    assert resp.status_code == 401
    assert resp.json()["error"]["title"] == "Unauthorized"


async def test_expired_token_is_rejected(cloud: Cloud) -> None:
    admin = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": await cloud.token(), "X-Subject-Token": await cloud.token()})).json()
    payload = tokens.TokenPayload(
        user_id=admin["token"]["user"]["id"], methods=("password",), audit_ids=("x",),
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    expired = tokens.encode(cloud.identity.keys, payload)
    resp = await cloud.client.get("/identity/v3/auth/projects", headers={"X-Auth-Token": expired})
    assert resp.status_code == 401


async def test_disabled_user_fails_validation_at_once(cloud: Cloud) -> None:
    token = await cloud.token()
    headers = {"X-Auth-Token": token}
    assert (await cloud.client.get("/identity/v3/auth/projects", headers=headers)).status_code == 200
    async with cloud.identity.write() as session:
        await session.execute(update(UserRow).where(UserRow.name == "admin").values(enabled=False))
    assert (await cloud.client.get("/identity/v3/auth/projects", headers=headers)).status_code == 401


async def test_removed_role_assignment_fails_validation_at_once(cloud: Cloud) -> None:
    token = await cloud.token()
    headers = {"X-Auth-Token": token}
    assert (await cloud.client.get("/identity/v3/auth/catalog", headers=headers)).status_code == 200
    async with cloud.identity.write() as session:
        await session.execute(delete(AssignmentRow).where(AssignmentRow.type == "UserProject"))
    assert (await cloud.client.get("/identity/v3/auth/catalog", headers=headers)).status_code == 401


async def test_auth_projects_domains_and_system(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    projects = (await cloud.client.get("/identity/v3/auth/projects", headers=headers)).json()
    assert {p["name"] for p in projects["projects"]} == {"admin"}
    domains = (await cloud.client.get("/identity/v3/auth/domains", headers=headers)).json()
    assert [d["id"] for d in domains["domains"]] == ["default"]
    system = (await cloud.client.get("/identity/v3/auth/system", headers=headers)).json()
    assert system["system"] == [{"all": True}]


async def test_version_documents(cloud: Cloud) -> None:
    root = await cloud.client.get("/identity/")
    assert root.status_code == 300
    assert root.json()["versions"]["values"][0]["id"].startswith("v3")
    v3 = await cloud.client.get("/identity/v3")
    assert v3.status_code == 200
    assert v3.json()["version"]["links"][0]["href"] == "http://nimbus.test/identity/v3/"


async def test_global_request_id_is_adopted_and_own_id_returned(cloud: Cloud) -> None:
    global_id = "req-12345678-1234-1234-1234-123456789abc"
    resp = await cloud.client.get("/identity/v3", headers={"X-OpenStack-Request-ID": global_id})
    own = resp.headers["X-Openstack-Request-Id"]
    assert own.startswith("req-") and own != global_id
