"""Domains: CRUD, filters, the disable-before-delete rule and what a delete takes with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from nimbus.identity.models import AssignmentRow, MembershipRow, RoleRow
from tests.functional.conftest import Cloud

V3 = "/identity/v3"


async def make_domain(cloud: Cloud, headers: dict[str, str], name: str,
                      **attrs: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/domains", headers=headers,
                                   json={"domain": {"name": name, **attrs}})
    assert resp.status_code == 201, resp.text
    domain: dict[str, Any] = resp.json()["domain"]
    return domain


async def grant(cloud: Cloud, kind: str, actor_id: str, target_id: str, role: str = "member") -> None:
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == role))).scalar_one()
        session.add(AssignmentRow(type=kind, actor_id=actor_id, target_id=target_id,
                                  role_id=role_id, inherited=False))


async def login(cloud: Cloud, user_id: str, password: str, **scope: Any) -> str:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user_id, "password": password}}}}}
    if scope:
        body["auth"]["scope"] = scope
    resp = await cloud.client.post(f"{V3}/auth/tokens", json=body)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


async def test_default_domain_is_shown_with_links(cloud: Cloud) -> None:
    resp = await cloud.client.get(f"{V3}/domains/default", headers=await cloud.admin_headers())

    assert resp.status_code == 200
    domain = resp.json()["domain"]
    assert domain["id"] == "default" and domain["name"] == "Default" and domain["enabled"] is True
    assert domain["links"]["self"] == "http://nimbus.test/identity/v3/domains/default"


async def test_create_show_list_and_update_domain(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    created = await make_domain(cloud, headers, "acme", description="ACME corp", owner="ops")

    assert created["name"] == "acme" and created["description"] == "ACME corp"
    assert created["enabled"] is True and created["owner"] == "ops"
    assert created["links"]["self"].endswith(f"/v3/domains/{created['id']}")
    shown = (await cloud.client.get(f"{V3}/domains/{created['id']}", headers=headers)).json()
    assert shown["domain"] == created

    listed = (await cloud.client.get(f"{V3}/domains", headers=headers)).json()
    assert {d["name"] for d in listed["domains"]} == {"Default", "acme"}
    assert listed["links"] == {"self": "http://nimbus.test/identity/v3/domains",
                               "previous": None, "next": None}
    by_name = (await cloud.client.get(f"{V3}/domains?name=acme", headers=headers)).json()
    assert [d["id"] for d in by_name["domains"]] == [created["id"]]

    resp = await cloud.client.patch(f"{V3}/domains/{created['id']}", headers=headers, json={
        "domain": {"name": "acme2", "description": None, "enabled": False}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["domain"]
    assert (updated["name"], updated["description"], updated["enabled"]) == ("acme2", None, False)
    assert updated["owner"] == "ops"
    disabled = (await cloud.client.get(f"{V3}/domains?enabled=false", headers=headers)).json()
    assert [d["name"] for d in disabled["domains"]] == ["acme2"]
    enabled = (await cloud.client.get(f"{V3}/domains?enabled=true", headers=headers)).json()
    assert [d["name"] for d in enabled["domains"]] == ["Default"]


async def test_explicit_domain_id_is_used(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    created = await make_domain(cloud, headers, "explicit", explicit_domain_id="a" * 32)

    assert created["id"] == "a" * 32
    again = await cloud.client.post(f"{V3}/domains", headers=headers, json={
        "domain": {"name": "other", "explicit_domain_id": "a" * 32}})
    assert again.status_code == 409


async def test_duplicate_domain_name_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_domain(cloud, headers, "dup")
    other = await make_domain(cloud, headers, "dup2")

    resp = await cloud.client.post(f"{V3}/domains", headers=headers, json={"domain": {"name": "dup"}})
    assert resp.status_code == 409
    assert resp.json()["error"]["title"] == "Conflict"
    rename = await cloud.client.patch(f"{V3}/domains/{other['id']}", headers=headers,
                                      json={"domain": {"name": "dup"}})
    assert rename.status_code == 409
    names = (await cloud.client.get(f"{V3}/domains", headers=headers)).json()["domains"]
    assert sorted(d["name"] for d in names) == ["Default", "dup", "dup2"]


async def test_enabled_domain_cannot_be_deleted(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    domain = await make_domain(cloud, headers, "keepme")

    resp = await cloud.client.delete(f"{V3}/domains/{domain['id']}", headers=headers)

    assert resp.status_code == 403
    assert "disable" in resp.json()["error"]["message"]
    assert (await cloud.client.get(f"{V3}/domains/{domain['id']}", headers=headers)).status_code == 200


async def test_default_domain_cannot_be_disabled_or_deleted(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    disable = await cloud.client.patch(f"{V3}/domains/default", headers=headers,
                                       json={"domain": {"enabled": False}})
    assert disable.status_code == 403
    assert (await cloud.client.delete(f"{V3}/domains/default", headers=headers)).status_code == 403
    assert (await cloud.client.get(f"{V3}/domains/default", headers=headers)).json()["domain"][
        "enabled"] is True


async def test_deleting_a_domain_removes_what_it_owns(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    domain = await make_domain(cloud, headers, "doomed")
    did = domain["id"]
    project = (await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "p", "domain_id": did}})).json()["project"]
    child = (await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "c", "parent_id": project["id"]}})).json()["project"]
    user = (await cloud.client.post(f"{V3}/users", headers=headers, json={
        "user": {"name": "u", "domain_id": did, "password": "pw-123456"}})).json()["user"]
    group = (await cloud.client.post(f"{V3}/groups", headers=headers, json={
        "group": {"name": "g", "domain_id": did}})).json()["group"]
    assert child["domain_id"] == did
    add = await cloud.client.put(f"{V3}/groups/{group['id']}/users/{user['id']}", headers=headers)
    assert add.status_code == 204
    await grant(cloud, "UserProject", user["id"], project["id"])
    await grant(cloud, "GroupDomain", group["id"], did)
    token = await login(cloud, user["id"], "pw-123456", project={"id": project["id"]})

    assert (await cloud.client.patch(f"{V3}/domains/{did}", headers=headers,
                                     json={"domain": {"enabled": False}})).status_code == 200
    assert (await cloud.client.delete(f"{V3}/domains/{did}", headers=headers)).status_code == 204

    for path in (f"domains/{did}", f"projects/{project['id']}", f"projects/{child['id']}",
                 f"users/{user['id']}", f"groups/{group['id']}"):
        resp = await cloud.client.get(f"{V3}/{path}", headers=headers)
        assert resp.status_code == 404, path
    ids = [did, project["id"], user["id"], group["id"]]
    async with cloud.identity.read() as session:
        grants = await session.scalar(select(func.count()).select_from(AssignmentRow).where(
            AssignmentRow.actor_id.in_(ids) | AssignmentRow.target_id.in_(ids)))
        members = await session.scalar(select(func.count()).select_from(MembershipRow))
    assert grants == 0 and members == 0
    check = await cloud.client.get(f"{V3}/auth/tokens",
                                   headers={**headers, "X-Subject-Token": token})
    assert check.status_code == 404


async def test_disabling_a_domain_fails_its_tokens_at_once(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    did = (await make_domain(cloud, headers, "sleepy"))["id"]
    user = (await cloud.client.post(f"{V3}/users", headers=headers, json={
        "user": {"name": "u", "domain_id": did, "password": "pw-123456"}})).json()["user"]
    project = (await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "p", "domain_id": did}})).json()["project"]
    await grant(cloud, "UserProject", user["id"], project["id"])
    await grant(cloud, "UserDomain", user["id"], did)
    project_token = await login(cloud, user["id"], "pw-123456", project={"id": project["id"]})
    domain_token = await login(cloud, user["id"], "pw-123456", domain={"id": did})
    for token in (project_token, domain_token):
        resp = await cloud.client.get(f"{V3}/auth/tokens", headers={**headers, "X-Subject-Token": token})
        assert resp.status_code == 200

    resp = await cloud.client.patch(f"{V3}/domains/{did}", headers=headers,
                                    json={"domain": {"enabled": False}})
    assert resp.status_code == 200

    for token in (project_token, domain_token):
        resp = await cloud.client.get(f"{V3}/auth/tokens", headers={**headers, "X-Subject-Token": token})
        assert resp.status_code == 404
        assert (await cloud.client.get(f"{V3}/auth/projects",
                                       headers={"X-Auth-Token": token})).status_code == 401
    # A domain-scoped token stays revoked when the domain comes back, as in Keystone.
    await cloud.client.patch(f"{V3}/domains/{did}", headers=headers, json={"domain": {"enabled": True}})
    resp = await cloud.client.get(f"{V3}/auth/tokens", headers={**headers, "X-Subject-Token": domain_token})
    assert resp.status_code == 404


async def test_non_admin_cannot_manage_domains(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    user = (await cloud.client.post(f"{V3}/users", headers=headers, json={
        "user": {"name": "plain", "password": "pw-123456"}})).json()["user"]
    project = (await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "plainp"}})).json()["project"]
    await grant(cloud, "UserProject", user["id"], project["id"])
    mine = {"X-Auth-Token": await login(cloud, user["id"], "pw-123456",
                                        project={"id": project["id"]})}

    assert (await cloud.client.get(f"{V3}/domains", headers=mine)).status_code == 403
    assert (await cloud.client.post(f"{V3}/domains", headers=mine,
                                    json={"domain": {"name": "x"}})).status_code == 403
    assert (await cloud.client.patch(f"{V3}/domains/default", headers=mine,
                                     json={"domain": {"name": "x"}})).status_code == 403
    assert (await cloud.client.delete(f"{V3}/domains/default", headers=mine)).status_code == 403
    names = (await cloud.client.get(f"{V3}/domains", headers=headers)).json()["domains"]
    assert [d["name"] for d in names] == ["Default"]


async def test_bad_domain_requests_are_400_and_write_nothing(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), "Content-Type": "application/json"}
    bad = [b"{not json", b"[]", b'{"domain": {}}', b'{"domain": {"name": ""}}',
           b'{"domain": {"name": "   "}}', b'{"domain": {"name": 5}}',
           b'{"domain": {"name": "x", "enabled": "yes"}}', b'{"domain": {"name": "x"}, "more": 1}',
           b'{"domain": {"name": "' + b"n" * 65 + b'"}}', b'{"domain": {"name": "a\\u0000b"}}']
    for raw in bad:
        resp = await cloud.client.post(f"{V3}/domains", headers=headers, content=raw)
        assert resp.status_code == 400, (raw, resp.text)
        assert resp.json()["error"]["code"] == 400
    for raw in (b'{"domain": {}}', b'{"domain": {"name": null}}', b'{"domain": {"enabled": 1}}'):
        resp = await cloud.client.patch(f"{V3}/domains/default", headers=headers, content=raw)
        assert resp.status_code == 400, (raw, resp.text)
    names = (await cloud.client.get(f"{V3}/domains", headers=headers)).json()["domains"]
    assert [d["name"] for d in names] == ["Default"]


async def test_unknown_domain_is_404(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"domain": {"name": "x"}}} if method == "PATCH" else {}
        resp = await cloud.client.request(method, f"{V3}/domains/nope", headers=headers, **kwargs)
        assert resp.status_code == 404, method
        assert resp.json()["error"]["message"] == "Could not find domain: nope."
