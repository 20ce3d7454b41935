"""Projects: CRUD, hierarchy rules, tags and tag filters, user projects, and token effects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from nimbus.identity.models import AssignmentRow, RoleRow
from tests.functional.conftest import Cloud

V3 = "/identity/v3"
PW = "pw-123456"


async def make_project(cloud: Cloud, headers: dict[str, str], name: str,
                       **attrs: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/projects", headers=headers,
                                   json={"project": {"name": name, **attrs}})
    assert resp.status_code == 201, resp.text
    project: dict[str, Any] = resp.json()["project"]
    return project


async def make_user(cloud: Cloud, headers: dict[str, str], name: str) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/users", headers=headers,
                                   json={"user": {"name": name, "password": PW}})
    assert resp.status_code == 201, resp.text
    user: dict[str, Any] = resp.json()["user"]
    return user


async def grant(cloud: Cloud, kind: str, actor_id: str, target_id: str, *,
                inherited: bool = False) -> None:
    async with cloud.identity.write() as session:
        role_id = (await session.execute(select(RoleRow.id).where(RoleRow.name == "member"))
                   ).scalar_one()
        session.add(AssignmentRow(type=kind, actor_id=actor_id, target_id=target_id,
                                  role_id=role_id, inherited=inherited))


async def login(cloud: Cloud, user_id: str, project_id: str) -> dict[str, str]:
    resp = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": PW}}},
        "scope": {"project": {"id": project_id}}}})
    assert resp.status_code == 201, resp.text
    return {"X-Auth-Token": resp.headers["X-Subject-Token"]}


async def member_of_new_project(cloud: Cloud, headers: dict[str, str],
                                name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    project = await make_project(cloud, headers, f"{name}-project")
    user = await make_user(cloud, headers, f"{name}-user")
    await grant(cloud, "UserProject", user["id"], project["id"])
    return project, user, await login(cloud, user["id"], project["id"])


async def names(cloud: Cloud, headers: dict[str, str], query: str) -> list[str]:
    resp = await cloud.client.get(f"{V3}/projects?{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    return sorted(p["name"] for p in resp.json()["projects"])


async def test_create_project_defaults_and_extra_attributes(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    project = await make_project(cloud, headers, "  web  ", color="blue")

    assert project["name"] == "web"
    assert project["domain_id"] == "default" and project["parent_id"] == "default"
    assert project["is_domain"] is False and project["enabled"] is True
    assert project["description"] == "" and project["tags"] == [] and project["color"] == "blue"
    assert project["links"]["self"] == f"http://nimbus.test/identity/v3/projects/{project['id']}"
    shown = await cloud.client.get(f"{V3}/projects/{project['id']}", headers=headers)
    assert shown.json()["project"] == project


async def test_duplicate_project_name_in_a_domain_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_project(cloud, headers, "twin")
    other = await cloud.client.post(f"{V3}/domains", headers=headers, json={"domain": {"name": "d2"}})
    resp = await cloud.client.post(f"{V3}/projects", headers=headers,
                                   json={"project": {"name": "twin"}})

    assert resp.status_code == 409
    assert resp.json()["error"]["title"] == "Conflict"
    await make_project(cloud, headers, "twin", domain_id=other.json()["domain"]["id"])
    assert await names(cloud, headers, "name=twin") == ["twin", "twin"]


async def test_list_filters(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    parent = await make_project(cloud, headers, "parent")
    await make_project(cloud, headers, "child", parent_id=parent["id"])
    await make_project(cloud, headers, "off", enabled=False)
    did = (await cloud.client.post(f"{V3}/domains", headers=headers,
                                   json={"domain": {"name": "d2"}})).json()["domain"]["id"]
    await make_project(cloud, headers, "elsewhere", domain_id=did)

    assert await names(cloud, headers, "") == ["admin", "child", "elsewhere", "off", "parent",
                                               "service"]
    assert await names(cloud, headers, "name=child") == ["child"]
    assert await names(cloud, headers, "enabled=false") == ["off"]
    assert await names(cloud, headers, f"domain_id={did}") == ["elsewhere"]
    assert await names(cloud, headers, f"parent_id={parent['id']}") == ["child"]
    assert await names(cloud, headers, f"parent_id={did}") == ["elsewhere"]
    assert await names(cloud, headers, "is_domain=false&name=parent") == ["parent"]
    domains = await names(cloud, headers, "is_domain=true")
    assert domains == ["Default", "d2"]


async def test_tag_filters(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    await make_project(cloud, headers, "ab", tags=["a", "b"])
    await make_project(cloud, headers, "a", tags=["a"])
    await make_project(cloud, headers, "c", tags=["c"])

    assert await names(cloud, headers, "tags=a") == ["a", "ab"]
    assert await names(cloud, headers, "tags=a,b") == ["ab"]
    assert await names(cloud, headers, "tags-any=b,c") == ["ab", "c"]
    assert await names(cloud, headers, "not-tags=a,b") == ["a", "admin", "c", "service"]
    assert await names(cloud, headers, "not-tags-any=a,c") == ["admin", "service"]
    assert await names(cloud, headers, "tags=a&not-tags-any=b") == ["a"]


async def test_tags_api(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    pid = (await make_project(cloud, headers, "tagged"))["id"]
    base = f"{V3}/projects/{pid}/tags"

    put = await cloud.client.put(base, headers=headers, json={"tags": ["x", "y"]})
    assert put.status_code == 200 and put.json()["tags"] == ["x", "y"]
    assert put.json()["links"]["self"].endswith(f"/projects/{pid}/tags")
    added = await cloud.client.put(f"{base}/z", headers=headers)
    assert added.status_code == 201 and added.headers["Location"].endswith(f"/projects/{pid}/tags/z")
    assert (await cloud.client.get(base, headers=headers)).json()["tags"] == ["x", "y", "z"]
    assert (await cloud.client.get(f"{base}/z", headers=headers)).status_code == 204
    assert (await cloud.client.head(f"{base}/y", headers=headers)).status_code == 204
    missing = await cloud.client.get(f"{base}/nope", headers=headers)
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    assert (await cloud.client.put(f"{base}/z", headers=headers)).status_code == 400
    assert (await cloud.client.put(f"{base}/a,b", headers=headers)).status_code == 400
    assert (await cloud.client.put(f"{base}/a%00", headers=headers)).status_code == 400
    assert (await cloud.client.delete(f"{base}/a%00", headers=headers)).status_code == 404
    assert (await cloud.client.delete(f"{base}/x", headers=headers)).status_code == 204
    assert (await cloud.client.delete(f"{base}/x", headers=headers)).status_code == 404
    shown = await cloud.client.get(f"{V3}/projects/{pid}", headers=headers)
    assert shown.json()["project"]["tags"] == ["y", "z"]
    assert (await cloud.client.delete(base, headers=headers)).status_code == 204
    assert (await cloud.client.get(base, headers=headers)).json()["tags"] == []
    assert (await cloud.client.get(f"{V3}/projects/nope/tags", headers=headers)).status_code == 404


async def test_bad_tags_are_400(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    pid = (await make_project(cloud, headers, "tagged", tags=["keep"]))["id"]
    for tags in (["a/b"], ["a,b"], [""], ["x"] * 2, [f"t{i}" for i in range(81)], "abc", [1]):
        resp = await cloud.client.put(f"{V3}/projects/{pid}/tags", headers=headers,
                                      json={"tags": tags})
        assert resp.status_code == 400, tags
    resp = await cloud.client.put(f"{V3}/projects/{pid}/tags", headers=headers,
                                  json={"tags": [f"t{i}" for i in range(80)]})
    assert resp.status_code == 200
    assert (await cloud.client.put(f"{V3}/projects/{pid}/tags/one-more", headers=headers)
            ).status_code == 400
    assert len((await cloud.client.get(f"{V3}/projects/{pid}/tags", headers=headers)).json()[
        "tags"]) == 80
    resp = await cloud.client.post(f"{V3}/projects", headers=headers,
                                   json={"project": {"name": "dup-tags", "tags": ["a", "a"]}})
    assert resp.status_code == 400
    assert await names(cloud, headers, "name=dup-tags") == []


async def test_update_project(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    project = await make_project(cloud, headers, "before", color="red")
    await make_project(cloud, headers, "taken")
    url = f"{V3}/projects/{project['id']}"

    resp = await cloud.client.patch(url, headers=headers, json={"project": {
        "name": "after", "description": "new", "tags": ["t"], "size": 3}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["project"]
    assert (updated["name"], updated["description"], updated["tags"]) == ("after", "new", ["t"])
    assert updated["color"] == "red" and updated["size"] == 3
    assert (await cloud.client.get(url, headers=headers)).json()["project"] == updated

    assert (await cloud.client.patch(url, headers=headers,
                                     json={"project": {"name": "taken"}})).status_code == 409
    assert (await cloud.client.patch(url, headers=headers,
                                     json={"project": {"domain_id": "other"}})).status_code == 400
    assert (await cloud.client.patch(url, headers=headers,
                                     json={"project": {"parent_id": "other"}})).status_code == 403
    assert (await cloud.client.patch(url, headers=headers,
                                     json={"project": {"is_domain": True}})).status_code == 400
    assert (await cloud.client.patch(url, headers=headers, json={"project": {}})).status_code == 400
    assert (await cloud.client.get(url, headers=headers)).json()["project"]["name"] == "after"


async def test_hierarchy_rules(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    top = await make_project(cloud, headers, "top")
    mid = await make_project(cloud, headers, "mid", parent_id=top["id"])
    leaf = await make_project(cloud, headers, "leaf", parent_id=mid["id"])
    assert leaf["parent_id"] == mid["id"] and leaf["domain_id"] == "default"

    shown = (await cloud.client.get(f"{V3}/projects/{leaf['id']}?parents_as_ids",
                                    headers=headers)).json()["project"]
    assert shown["parents"] == {mid["id"]: {top["id"]: {"default": None}}}
    shown = (await cloud.client.get(f"{V3}/projects/{top['id']}?subtree_as_ids",
                                    headers=headers)).json()["project"]
    assert shown["subtree"] == {mid["id"]: {leaf["id"]: None}}
    both = await cloud.client.get(f"{V3}/projects/{top['id']}?subtree_as_ids&subtree_as_list",
                                  headers=headers)
    assert both.status_code == 400

    assert (await cloud.client.delete(f"{V3}/projects/{mid['id']}", headers=headers)).status_code == 403
    disable_mid = await cloud.client.patch(f"{V3}/projects/{mid['id']}", headers=headers,
                                           json={"project": {"enabled": False}})
    assert disable_mid.status_code == 403
    assert (await cloud.client.patch(f"{V3}/projects/{leaf['id']}", headers=headers,
                                     json={"project": {"enabled": False}})).status_code == 200
    assert (await cloud.client.patch(f"{V3}/projects/{mid['id']}", headers=headers,
                                     json={"project": {"enabled": False}})).status_code == 200
    enable_leaf = await cloud.client.patch(f"{V3}/projects/{leaf['id']}", headers=headers,
                                           json={"project": {"enabled": True}})
    assert enable_leaf.status_code == 403
    under_disabled = await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "x", "parent_id": mid["id"]}})
    assert under_disabled.status_code == 400
    assert (await cloud.client.delete(f"{V3}/projects/{leaf['id']}", headers=headers)).status_code == 204
    assert (await cloud.client.delete(f"{V3}/projects/{mid['id']}", headers=headers)).status_code == 204


async def test_parent_must_exist_and_share_the_domain(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    top = await make_project(cloud, headers, "top")
    did = (await cloud.client.post(f"{V3}/domains", headers=headers,
                                   json={"domain": {"name": "d2"}})).json()["domain"]["id"]
    cases = [{"parent_id": "nope"}, {"domain_id": "nope"},
             {"parent_id": top["id"], "domain_id": did}, {"parent_id": did, "domain_id": "default"}]
    for attrs in cases:
        resp = await cloud.client.post(f"{V3}/projects", headers=headers,
                                       json={"project": {"name": "orphan", **attrs}})
        assert resp.status_code == 400, (attrs, resp.text)
    in_d2 = await make_project(cloud, headers, "in-d2", parent_id=did)
    assert in_d2["domain_id"] == did and in_d2["parent_id"] == did
    assert await names(cloud, headers, "name=orphan") == []


async def test_project_tree_depth_is_limited(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    parent = await make_project(cloud, headers, "level1")
    for level in range(2, 6):
        parent = await make_project(cloud, headers, f"level{level}", parent_id=parent["id"])
    resp = await cloud.client.post(f"{V3}/projects", headers=headers, json={
        "project": {"name": "level6", "parent_id": parent["id"]}})
    assert resp.status_code == 403


async def test_project_acting_as_domain_creates_a_domain(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    made = await make_project(cloud, headers, "as-domain", is_domain=True)

    assert made["is_domain"] is True and made["domain_id"] is None and made["parent_id"] is None
    domain = await cloud.client.get(f"{V3}/domains/{made['id']}", headers=headers)
    assert domain.status_code == 200 and domain.json()["domain"]["name"] == "as-domain"


async def test_delete_project_removes_grants_and_fails_its_tokens(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    project, _user, mine = await member_of_new_project(cloud, headers, "gone")
    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=mine)).status_code == 200

    assert (await cloud.client.delete(f"{V3}/projects/{project['id']}", headers=headers)).status_code == 204

    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=mine)).status_code == 401
    assert (await cloud.client.get(f"{V3}/projects/{project['id']}", headers=headers)).status_code == 404
    async with cloud.identity.read() as session:
        left = await session.scalar(select(func.count()).select_from(AssignmentRow).where(
            AssignmentRow.target_id == project["id"]))
    assert left == 0


async def test_disabling_a_project_fails_its_tokens_at_once(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    project, user, mine = await member_of_new_project(cloud, headers, "paused")
    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=mine)).status_code == 200

    resp = await cloud.client.patch(f"{V3}/projects/{project['id']}", headers=headers,
                                    json={"project": {"enabled": False}})
    assert resp.status_code == 200 and resp.json()["project"]["enabled"] is False
    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=mine)).status_code == 401

    await cloud.client.patch(f"{V3}/projects/{project['id']}", headers=headers,
                             json={"project": {"enabled": True}})
    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=mine)).status_code == 401
    fresh = await login(cloud, user["id"], project["id"])
    assert (await cloud.client.get(f"{V3}/auth/catalog", headers=fresh)).status_code == 200


async def test_user_projects_lists_direct_group_and_inherited_grants(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    direct = await make_project(cloud, headers, "direct")
    via_group = await make_project(cloud, headers, "via-group")
    top = await make_project(cloud, headers, "top")
    below = await make_project(cloud, headers, "below", parent_id=top["id"])
    await make_project(cloud, headers, "unrelated")
    user = await make_user(cloud, headers, "worker")
    group = (await cloud.client.post(f"{V3}/groups", headers=headers,
                                     json={"group": {"name": "crew"}})).json()["group"]
    await cloud.client.put(f"{V3}/groups/{group['id']}/users/{user['id']}", headers=headers)
    await grant(cloud, "UserProject", user["id"], direct["id"])
    await grant(cloud, "GroupProject", group["id"], via_group["id"])
    await grant(cloud, "UserProject", user["id"], top["id"], inherited=True)

    resp = await cloud.client.get(f"{V3}/users/{user['id']}/projects", headers=headers)

    assert resp.status_code == 200
    listed = resp.json()["projects"]
    assert sorted(p["name"] for p in listed) == ["below", "direct", "via-group"]
    assert all(p["links"]["self"].endswith(p["id"]) for p in listed)
    assert below["id"] in {p["id"] for p in listed}
    mine = await login(cloud, user["id"], direct["id"])
    own = await cloud.client.get(f"{V3}/users/{user['id']}/projects?name=direct", headers=mine)
    assert [p["name"] for p in own.json()["projects"]] == ["direct"]
    admin_id = (await cloud.client.get(f"{V3}/users?name=admin", headers=headers)).json()[
        "users"][0]["id"]
    assert (await cloud.client.get(f"{V3}/users/{admin_id}/projects", headers=mine)).status_code == 403
    assert (await cloud.client.get(f"{V3}/users/nope/projects", headers=headers)).status_code == 404


async def test_non_admin_sees_only_its_own_project(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    project, _user, mine = await member_of_new_project(cloud, headers, "tenant")
    other = await make_project(cloud, headers, "other")

    assert (await cloud.client.get(f"{V3}/projects", headers=mine)).status_code == 403
    own = await cloud.client.get(f"{V3}/projects/{project['id']}", headers=mine)
    assert own.status_code == 200 and own.json()["project"]["name"] == "tenant-project"
    assert (await cloud.client.get(f"{V3}/projects/{other['id']}", headers=mine)).status_code == 403
    assert (await cloud.client.get(f"{V3}/projects/{project['id']}/tags", headers=mine)).status_code == 200
    for method, path, body in (
            ("POST", "projects", {"project": {"name": "mine"}}),
            ("PATCH", f"projects/{project['id']}", {"project": {"name": "renamed"}}),
            ("PUT", f"projects/{project['id']}/tags", {"tags": ["t"]}),
            ("DELETE", f"projects/{other['id']}", None)):
        resp = await cloud.client.request(method, f"{V3}/{path}", headers=mine, json=body)
        assert resp.status_code == 403, (method, path)
    assert await names(cloud, headers, "name=mine") == []


async def test_bad_project_requests_are_400(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), "Content-Type": "application/json"}
    bad = [b"{oops", b'{"project": {"description": "no name"}}', b'{"project": {"name": ["x"]}}',
           b'{"project": {"name": "x", "enabled": "true"}}', b'{"project": {"name": "x", "tags": "a"}}',
           b'{"project": {"name": "' + b"n" * 65 + b'"}}', b'{"projects": {"name": "x"}}',
           b'{"project": {"name": "x\\ud800"}}', b'{"project": {"name": "x", "note": "\\u0000"}}']
    for raw in bad:
        resp = await cloud.client.post(f"{V3}/projects", headers=headers, content=raw)
        assert resp.status_code == 400, (raw, resp.text)
        assert resp.json()["error"]["code"] == 400
    assert (await cloud.client.get(f"{V3}/projects?name=%00", headers=headers)).status_code == 400
    assert (await cloud.client.get(f"{V3}/projects/{'x' * 300}", headers=headers)).status_code == 404
    assert (await cloud.client.patch(f"{V3}/projects/nope", headers=headers,
                                     json={"project": {"name": "y"}})).status_code == 404
    assert (await cloud.client.delete(f"{V3}/projects/nope", headers=headers)).status_code == 404
    assert await names(cloud, headers, "name=x") == []


async def test_is_domain_project_is_reachable_as_a_project(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    created = await cloud.client.post("/identity/v3/projects", headers=admin, json={
        "project": {"name": "dom-as-project", "is_domain": True}})
    assert created.status_code == 201, created.text
    project_id = created.json()["project"]["id"]

    shown = await cloud.client.get(f"/identity/v3/projects/{project_id}", headers=admin)
    disabled = await cloud.client.patch(f"/identity/v3/projects/{project_id}", headers=admin,
                                        json={"project": {"enabled": False}})
    domain = await cloud.client.get(f"/identity/v3/domains/{project_id}", headers=admin)
    deleted = await cloud.client.delete(f"/identity/v3/projects/{project_id}", headers=admin)

    assert shown.status_code == 200 and shown.json()["project"]["is_domain"] is True
    assert disabled.status_code == 200 and disabled.json()["project"]["enabled"] is False
    assert domain.json()["domain"]["enabled"] is False
    assert deleted.status_code == 204
    assert (await cloud.client.get(f"/identity/v3/domains/{project_id}",
                                   headers=admin)).status_code == 404


async def test_a_member_reads_the_domain_of_their_project(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    _, _, member = await member_of_new_project(cloud, admin, "reads-its-domain")

    own = await cloud.client.get("/identity/v3/domains/default", headers=member)
    other = await cloud.client.post("/identity/v3/domains", headers=admin,
                                    json={"domain": {"name": "elsewhere"}})
    foreign = await cloud.client.get(f"/identity/v3/domains/{other.json()['domain']['id']}",
                                     headers=member)

    assert own.status_code == 200 and own.json()["domain"]["id"] == "default"
    assert foreign.status_code == 403
