"""Groups: CRUD, membership, and group roles reaching (and leaving) members' tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from nimbus.identity.models import AssignmentRow, MembershipRow, RoleRow
from tests.functional.conftest import Cloud

V3 = "/identity/v3"
PW = "group-Secret-1"


async def make_group(cloud: Cloud, headers: dict[str, str], name: str, **attrs: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/groups", headers=headers,
                                   json={"group": {"name": name, **attrs}})
    assert resp.status_code == 201, resp.text
    group: dict[str, Any] = resp.json()["group"]
    return group


async def make_user(cloud: Cloud, headers: dict[str, str], name: str) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/users", headers=headers,
                                   json={"user": {"name": name, "password": PW}})
    assert resp.status_code == 201, resp.text
    user: dict[str, Any] = resp.json()["user"]
    return user


async def grant_to_group(cloud: Cloud, group_id: str, project_name: str = "admin") -> str:
    """Give the group the member role on a project; returns the project id."""
    headers = await cloud.admin_headers()
    project_id: str = (await cloud.client.get(f"{V3}/projects?name={project_name}",
                                              headers=headers)).json()["projects"][0]["id"]
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == "member"))
                   ).scalar_one()
        session.add(AssignmentRow(type="GroupProject", actor_id=group_id, target_id=project_id,
                                  role_id=role_id, inherited=False))
    return project_id


async def works(cloud: Cloud, token: str) -> bool:
    resp = await cloud.client.get(f"{V3}/auth/catalog", headers={"X-Auth-Token": token})
    assert resp.status_code in (200, 401), resp.text
    return resp.status_code == 200


async def test_group_crud(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "devs", description="Developers", team="core")

    assert group["name"] == "devs" and group["domain_id"] == "default"
    assert group["description"] == "Developers" and group["team"] == "core"
    assert group["links"]["self"] == f"http://nimbus.test/identity/v3/groups/{group['id']}"
    assert (await cloud.client.get(f"{V3}/groups/{group['id']}", headers=headers)).json()[
        "group"] == group

    resp = await cloud.client.patch(f"{V3}/groups/{group['id']}", headers=headers,
                                    json={"group": {"name": "developers", "description": None}})
    assert resp.status_code == 200
    updated = resp.json()["group"]
    assert (updated["name"], updated["description"], updated["team"]) == ("developers", None, "core")

    assert (await cloud.client.delete(f"{V3}/groups/{group['id']}", headers=headers)).status_code == 204
    assert (await cloud.client.get(f"{V3}/groups/{group['id']}", headers=headers)).status_code == 404
    assert (await cloud.client.delete(f"{V3}/groups/{group['id']}", headers=headers)).status_code == 404


async def test_list_groups_with_filters(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_group(cloud, headers, "ops")
    await make_group(cloud, headers, "qa")
    did = (await cloud.client.post(f"{V3}/domains", headers=headers,
                                   json={"domain": {"name": "d2"}})).json()["domain"]["id"]
    await make_group(cloud, headers, "ops", domain_id=did)

    async def listed(query: str) -> list[tuple[str, str]]:
        resp = await cloud.client.get(f"{V3}/groups?{query}", headers=headers)
        assert resp.status_code == 200
        assert resp.json()["links"]["self"].endswith(f"/v3/groups?{query}".rstrip("?"))
        return sorted((g["name"], g["domain_id"]) for g in resp.json()["groups"])

    assert await listed("") == sorted([("ops", "default"), ("ops", did), ("qa", "default")])
    assert await listed("name=ops") == sorted([("ops", "default"), ("ops", did)])
    assert await listed(f"domain_id={did}") == [("ops", did)]


async def test_group_name_rules(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_group(cloud, headers, "one")
    two = await make_group(cloud, headers, "two")

    dup = await cloud.client.post(f"{V3}/groups", headers=headers, json={"group": {"name": "one"}})
    assert dup.status_code == 409 and dup.json()["error"]["title"] == "Conflict"
    rename = await cloud.client.patch(f"{V3}/groups/{two['id']}", headers=headers,
                                      json={"group": {"name": "one"}})
    assert rename.status_code == 409
    move = await cloud.client.patch(f"{V3}/groups/{two['id']}", headers=headers,
                                    json={"group": {"domain_id": "elsewhere"}})
    assert move.status_code == 400
    unknown = await cloud.client.post(f"{V3}/groups", headers=headers,
                                      json={"group": {"name": "x", "domain_id": "nope"}})
    assert unknown.status_code == 404
    headers_json = {**headers, "Content-Type": "application/json"}
    for raw in (b"{", b'{"group": {}}', b'{"group": {"name": 3}}',
                b'{"group": {"name": "' + b"g" * 65 + b'"}}', b'{"group": {"name": "x"}, "other": {}}'):
        resp = await cloud.client.post(f"{V3}/groups", headers=headers_json, content=raw)
        assert resp.status_code == 400, raw
    assert (await cloud.client.patch(f"{V3}/groups/{two['id']}", headers=headers,
                                     json={"group": {}})).status_code == 400
    names = sorted(g["name"] for g in (await cloud.client.get(f"{V3}/groups", headers=headers)
                                       ).json()["groups"])
    assert names == ["one", "two"]


async def test_membership_add_check_list_remove(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "crew")
    user = await make_user(cloud, headers, "olga")
    url = f"{V3}/groups/{group['id']}/users/{user['id']}"

    assert (await cloud.client.head(url, headers=headers)).status_code == 404
    assert (await cloud.client.put(url, headers=headers)).status_code == 204
    assert (await cloud.client.put(url, headers=headers)).status_code == 204
    assert (await cloud.client.head(url, headers=headers)).status_code == 204
    assert (await cloud.client.get(url, headers=headers)).status_code == 204

    users = (await cloud.client.get(f"{V3}/groups/{group['id']}/users", headers=headers)).json()
    assert [u["name"] for u in users["users"]] == ["olga"]
    assert users["users"][0]["links"]["self"].endswith(f"/v3/users/{user['id']}")
    filtered = await cloud.client.get(f"{V3}/groups/{group['id']}/users?name=nobody", headers=headers)
    assert filtered.json()["users"] == []
    groups = (await cloud.client.get(f"{V3}/users/{user['id']}/groups", headers=headers)).json()
    assert [(g["name"], g["membership_expires_at"]) for g in groups["groups"]] == [("crew", None)]
    assert groups["groups"][0]["links"]["self"].endswith(f"/v3/groups/{group['id']}")

    assert (await cloud.client.delete(url, headers=headers)).status_code == 204
    gone = await cloud.client.delete(url, headers=headers)
    assert gone.status_code == 404 and user["id"] in gone.json()["error"]["message"]
    assert (await cloud.client.get(f"{V3}/users/{user['id']}/groups", headers=headers)).json()[
        "groups"] == []


async def test_membership_needs_a_real_group_and_user(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "real")
    user = await make_user(cloud, headers, "pat")

    for path in (f"groups/nope/users/{user['id']}", f"groups/{group['id']}/users/nope"):
        for method in ("PUT", "HEAD", "DELETE"):
            resp = await cloud.client.request(method, f"{V3}/{path}", headers=headers)
            assert resp.status_code == 404, (method, path)
    assert (await cloud.client.get(f"{V3}/groups/nope/users", headers=headers)).status_code == 404
    async with cloud.identity.read() as session:
        assert await session.scalar(select(func.count()).select_from(MembershipRow)) == 0


async def test_removing_a_member_fails_tokens_that_relied_on_the_group(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "grantees")
    user = await make_user(cloud, headers, "quinn")
    await grant_to_group(cloud, group["id"])
    url = f"{V3}/groups/{group['id']}/users/{user['id']}"
    assert (await cloud.client.put(url, headers=headers)).status_code == 204
    token = await cloud.token("quinn", PW)
    body = (await cloud.client.get(f"{V3}/auth/tokens?nocatalog",
                                   headers={**headers, "X-Subject-Token": token})).json()
    assert {r["name"] for r in body["token"]["roles"]} == {"member", "reader"}
    assert await works(cloud, token)

    assert (await cloud.client.delete(url, headers=headers)).status_code == 204

    assert not await works(cloud, token)
    login = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": user["id"], "password": PW}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert login.status_code == 401


async def test_deleting_a_group_removes_its_grants_and_members_roles(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "temporary")
    user = await make_user(cloud, headers, "rita")
    await grant_to_group(cloud, group["id"])
    await cloud.client.put(f"{V3}/groups/{group['id']}/users/{user['id']}", headers=headers)
    token = await cloud.token("rita", PW)
    assert await works(cloud, token)

    assert (await cloud.client.delete(f"{V3}/groups/{group['id']}", headers=headers)).status_code == 204

    assert not await works(cloud, token)
    async with cloud.identity.read() as session:
        grants = await session.scalar(select(func.count()).select_from(AssignmentRow).where(
            AssignmentRow.actor_id == group["id"]))
        members = await session.scalar(select(func.count()).select_from(MembershipRow))
    assert grants == 0 and members == 0
    assert (await cloud.client.get(f"{V3}/users/{user['id']}", headers=headers)).status_code == 200


async def test_non_admin_cannot_manage_groups(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    group = await make_group(cloud, headers, "staff")
    user = await make_user(cloud, headers, "sam")
    await grant_to_group(cloud, group["id"])
    await cloud.client.put(f"{V3}/groups/{group['id']}/users/{user['id']}", headers=headers)
    mine = {"X-Auth-Token": await cloud.token("sam", PW)}

    own = await cloud.client.get(f"{V3}/users/{user['id']}/groups", headers=mine)
    assert own.status_code == 200 and [g["name"] for g in own.json()["groups"]] == ["staff"]
    for method, path, body in (
            ("GET", "groups", None), ("GET", f"groups/{group['id']}", None),
            ("POST", "groups", {"group": {"name": "mine"}}),
            ("PATCH", f"groups/{group['id']}", {"group": {"name": "x"}}),
            ("DELETE", f"groups/{group['id']}", None),
            ("GET", f"groups/{group['id']}/users", None),
            ("PUT", f"groups/{group['id']}/users/{user['id']}", None),
            ("DELETE", f"groups/{group['id']}/users/{user['id']}", None)):
        resp = await cloud.client.request(method, f"{V3}/{path}", headers=mine, json=body)
        assert resp.status_code == 403, (method, path)
    assert (await cloud.client.head(f"{V3}/groups/{group['id']}/users/{user['id']}",
                                    headers=headers)).status_code == 204
