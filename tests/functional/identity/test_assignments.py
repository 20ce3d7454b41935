"""Grants (projects, domains, system, OS-INHERIT) and `/v3/role_assignments` (Keystone v3)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.functional.conftest import Cloud
from tests.functional.identity.helpers import (
    V3,
    create_role,
    make_domain,
    make_group,
    make_project,
    make_user,
    password_auth,
    role_id,
    user_token,
    validate,
)

# --- grants --------------------------------------------------------------------------------

async def test_project_user_grant_lifecycle_and_revocation_of_tokens(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "alice")
    member = await role_id(cloud, "member")
    grant = f"{V3}/projects/{project}/users/{user}/roles/{member}"
    assert (await cloud.client.head(grant, headers=admin)).status_code == 404
    assert (await cloud.client.put(grant, headers=admin)).status_code == 204
    assert (await cloud.client.put(grant, headers=admin)).status_code == 204  # idempotent
    assert (await cloud.client.head(grant, headers=admin)).status_code == 204
    assert (await cloud.client.get(grant, headers=admin)).status_code == 204
    listed = await cloud.client.get(f"{V3}/projects/{project}/users/{user}/roles", headers=admin)
    assert [r["name"] for r in listed.json()["roles"]] == ["member"]
    assert listed.json()["roles"][0]["links"]["self"].endswith(f"/v3/roles/{member}")

    token = await user_token(cloud, user, {"project": {"id": project}})
    body = await validate(cloud, token)
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}

    assert (await cloud.client.delete(grant, headers=admin)).status_code == 204
    assert await validate(cloud, token) == 404
    used = await cloud.client.get(f"{V3}/auth/catalog", headers={"X-Auth-Token": token})
    assert used.status_code == 401
    assert (await cloud.client.delete(grant, headers=admin)).status_code == 404
    assert (await cloud.client.head(grant, headers=admin)).status_code == 404


async def test_revoking_one_of_two_grants_keeps_the_token_with_fewer_roles(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "bob")
    reader = await role_id(cloud, "reader")
    custom = await create_role(cloud, "auditor")
    for role in (reader, custom):
        await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{role}", headers=admin)
    token = await user_token(cloud, user, {"project": {"id": project}})
    assert {r["name"] for r in (await validate(cloud, token))["roles"]} == {"reader", "auditor"}
    await cloud.client.delete(f"{V3}/projects/{project}/users/{user}/roles/{custom}", headers=admin)
    assert {r["name"] for r in (await validate(cloud, token))["roles"]} == {"reader"}


async def test_grant_errors(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "carol")
    member = await role_id(cloud, "member")
    cases = [
        (f"/projects/nope/users/{user}/roles/{member}", "Could not find project: nope."),
        (f"/projects/{project}/users/nope/roles/{member}", "Could not find user: nope."),
        (f"/projects/{project}/users/{user}/roles/nope", "Could not find role: nope."),
        (f"/projects/{project}/groups/nope/roles/{member}", "Could not find group: nope."),
        (f"/domains/nope/users/{user}/roles/{member}", "Could not find domain: nope."),
    ]
    for path, message in cases:
        resp = await cloud.client.put(V3 + path, headers=admin)
        assert resp.status_code == 404, path
        assert resp.json()["error"] == {"code": 404, "title": "Not Found", "message": message}
    listed = await cloud.client.get(f"{V3}/projects/{project}/users/nope/roles", headers=admin)
    assert listed.status_code == 404
    # Only admins manage grants.
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{member}", headers=admin)
    token = {"X-Auth-Token": await user_token(cloud, user, {"project": {"id": project}})}
    for method in ("PUT", "DELETE", "HEAD"):
        resp = await cloud.client.request(
            method, f"{V3}/projects/{project}/users/{user}/roles/{member}", headers=token)
        assert resp.status_code == 403, method
    assert (await cloud.client.get(f"{V3}/projects/{project}/users/{user}/roles",
                                   headers=token)).status_code == 403


async def test_group_grant_reaches_members_until_removed(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "dave")
    group = await make_group(cloud, "devs", user)
    member = await role_id(cloud, "member")
    grant = f"{V3}/projects/{project}/groups/{group}/roles/{member}"
    assert (await cloud.client.put(grant, headers=admin)).status_code == 204
    assert (await cloud.client.head(grant, headers=admin)).status_code == 204
    listed = await cloud.client.get(f"{V3}/projects/{project}/groups/{group}/roles", headers=admin)
    assert [r["id"] for r in listed.json()["roles"]] == [member]
    token = await user_token(cloud, user, {"project": {"id": project}})
    assert "member" in {r["name"] for r in (await validate(cloud, token))["roles"]}
    assert (await cloud.client.delete(grant, headers=admin)).status_code == 204
    assert await validate(cloud, token) == 404


async def test_domain_grants_for_users_and_groups(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    domain = await make_domain(cloud, "acme")
    user = await make_user(cloud, "erin", domain_id=domain)
    group = await make_group(cloud, "ops", domain_id=domain)
    admin_role, reader = await role_id(cloud, "admin"), await role_id(cloud, "reader")
    assert (await cloud.client.put(f"{V3}/domains/{domain}/users/{user}/roles/{admin_role}",
                                   headers=admin)).status_code == 204
    assert (await cloud.client.put(f"{V3}/domains/{domain}/groups/{group}/roles/{reader}",
                                   headers=admin)).status_code == 204
    users = await cloud.client.get(f"{V3}/domains/{domain}/users/{user}/roles", headers=admin)
    assert [r["name"] for r in users.json()["roles"]] == ["admin"]
    groups = await cloud.client.get(f"{V3}/domains/{domain}/groups/{group}/roles", headers=admin)
    assert [r["name"] for r in groups.json()["roles"]] == ["reader"]
    token = await user_token(cloud, user, {"domain": {"id": domain}})
    body = await validate(cloud, token)
    assert body["domain"]["id"] == domain
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    assert (await cloud.client.delete(f"{V3}/domains/{domain}/groups/{group}/roles/{reader}",
                                      headers=admin)).status_code == 204
    assert (await cloud.client.head(f"{V3}/domains/{domain}/groups/{group}/roles/{reader}",
                                    headers=admin)).status_code == 404


async def test_system_grants(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    user = await make_user(cloud, "frank")
    group = await make_group(cloud, "sre", user)
    reader = await role_id(cloud, "reader")
    assert (await cloud.client.put(f"{V3}/system/groups/{group}/roles/{reader}",
                                   headers=admin)).status_code == 204
    listed = await cloud.client.get(f"{V3}/system/groups/{group}/roles", headers=admin)
    assert [r["name"] for r in listed.json()["roles"]] == ["reader"]
    assert (await cloud.client.get(f"{V3}/system/users/{user}/roles",
                                   headers=admin)).json()["roles"] == []
    token = await user_token(cloud, user, {"system": {"all": True}})
    body = await validate(cloud, token)
    assert body["system"] == {"all": True} and [r["name"] for r in body["roles"]] == ["reader"]
    assert (await cloud.client.put(f"{V3}/system/users/{user}/roles/{reader}",
                                   headers=admin)).status_code == 204
    assert (await cloud.client.head(f"{V3}/system/users/{user}/roles/{reader}",
                                    headers=admin)).status_code == 204
    domain_role = await create_role(cloud, "local", domain_id="default")
    bad = await cloud.client.put(f"{V3}/system/users/{user}/roles/{domain_role}", headers=admin)
    assert bad.status_code == 400 and "domain-specific" in bad.json()["error"]["message"]
    await cloud.client.delete(f"{V3}/system/groups/{group}/roles/{reader}", headers=admin)
    await cloud.client.delete(f"{V3}/system/users/{user}/roles/{reader}", headers=admin)
    assert await validate(cloud, token) == 404


async def test_inherited_domain_grant_reaches_every_project_but_not_the_domain(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    domain = await make_domain(cloud, "acme")
    first = await make_project(cloud, "one", domain_id=domain)
    user = await make_user(cloud, "gina", domain_id=domain)
    member = await role_id(cloud, "member")
    grant = f"{V3}/OS-INHERIT/domains/{domain}/users/{user}/roles/{member}/inherited_to_projects"
    assert (await cloud.client.put(grant, headers=admin)).status_code == 204
    assert (await cloud.client.head(grant, headers=admin)).status_code == 204
    listed = await cloud.client.get(
        f"{V3}/OS-INHERIT/domains/{domain}/users/{user}/roles/inherited_to_projects", headers=admin)
    assert [r["name"] for r in listed.json()["roles"]] == ["member"]
    # Not a direct domain grant.
    assert (await cloud.client.head(f"{V3}/domains/{domain}/users/{user}/roles/{member}",
                                    headers=admin)).status_code == 404
    later = await make_project(cloud, "two", domain_id=domain)
    for project in (first, later):
        token = await user_token(cloud, user, {"project": {"id": project}})
        assert "member" in {r["name"] for r in (await validate(cloud, token))["roles"]}
    # Inherited grants do not apply to the domain itself: no role there, no domain token.
    assert (await password_auth(cloud, user, {"domain": {"id": domain}})).status_code == 401
    assert (await cloud.client.delete(grant, headers=admin)).status_code == 204
    assert await validate(cloud, token) == 404


async def test_inherited_project_grant_reaches_subprojects_only(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    parent = await make_project(cloud, "parent")
    child = await make_project(cloud, "child", parent_id=parent)
    user = await make_user(cloud, "hank")
    group = await make_group(cloud, "team", user)
    reader = await role_id(cloud, "reader")
    grant = f"{V3}/OS-INHERIT/projects/{parent}/groups/{group}/roles/{reader}/inherited_to_projects"
    assert (await cloud.client.put(grant, headers=admin)).status_code == 204
    assert (await cloud.client.get(grant, headers=admin)).status_code == 204
    token = await user_token(cloud, user, {"project": {"id": child}})
    assert [r["name"] for r in (await validate(cloud, token))["roles"]] == ["reader"]
    assert (await password_auth(cloud, user, {"project": {"id": parent}})).status_code == 401
    assert (await cloud.client.delete(grant, headers=admin)).status_code == 204
    assert await validate(cloud, token) == 404


async def test_domain_specific_role_only_on_projects_of_its_domain(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    domain = await make_domain(cloud, "acme")
    inside = await make_project(cloud, "inside", domain_id=domain)
    outside = await make_project(cloud, "outside")
    user = await make_user(cloud, "ivan")
    local = await create_role(cloud, "local-admin", domain_id=domain)
    ok = await cloud.client.put(f"{V3}/projects/{inside}/users/{user}/roles/{local}", headers=admin)
    assert ok.status_code == 204
    bad = await cloud.client.put(f"{V3}/projects/{outside}/users/{user}/roles/{local}",
                                 headers=admin)
    assert bad.status_code == 403 and bad.json()["error"]["title"] == "Forbidden"


# --- /v3/role_assignments ------------------------------------------------------------------

async def _setup_tree(cloud: Cloud) -> dict[str, str]:
    """Domain acme: projects top > sub; user u1 in group g; grants of several kinds."""
    admin = await cloud.admin_headers()
    ids = {"domain": await make_domain(cloud, "acme")}
    ids["top"] = await make_project(cloud, "top", domain_id=ids["domain"])
    ids["sub"] = await make_project(cloud, "sub", domain_id=ids["domain"], parent_id=ids["top"])
    ids["u1"] = await make_user(cloud, "u1", domain_id=ids["domain"])
    ids["u2"] = await make_user(cloud, "u2", domain_id=ids["domain"])
    ids["g"] = await make_group(cloud, "g", ids["u1"], domain_id=ids["domain"])
    for name in ("admin", "manager", "member", "reader"):
        ids[name] = await role_id(cloud, name)
    puts = [f"/projects/{ids['top']}/users/{ids['u2']}/roles/{ids['member']}",
            f"/projects/{ids['top']}/groups/{ids['g']}/roles/{ids['reader']}",
            f"/domains/{ids['domain']}/users/{ids['u1']}/roles/{ids['admin']}",
            f"/OS-INHERIT/domains/{ids['domain']}/users/{ids['u2']}/roles/{ids['reader']}"
            "/inherited_to_projects"]
    for path in puts:
        assert (await cloud.client.put(V3 + path, headers=admin)).status_code == 204
    return ids


async def _list(cloud: Cloud, query: str, headers: dict[str, str] | None = None) -> Any:
    resp = await cloud.client.get(f"{V3}/role_assignments?{query}",
                                  headers=headers or await cloud.admin_headers())
    assert resp.status_code == 200, resp.text
    return resp.json()["role_assignments"]


async def test_role_assignments_direct_shapes_and_filters(cloud: Cloud) -> None:
    ids = await _setup_tree(cloud)
    base = "http://nimbus.test/identity/v3"
    on_top = await _list(cloud, f"scope.project.id={ids['top']}")
    assert sorted(on_top, key=lambda a: a["role"]["id"]) == sorted([
        {"scope": {"project": {"id": ids["top"]}}, "user": {"id": ids["u2"]},
         "role": {"id": ids["member"]}, "links": {
             "assignment": f"{base}/projects/{ids['top']}/users/{ids['u2']}/roles/{ids['member']}"}},
        {"scope": {"project": {"id": ids["top"]}}, "group": {"id": ids["g"]},
         "role": {"id": ids["reader"]}, "links": {
             "assignment": f"{base}/projects/{ids['top']}/groups/{ids['g']}/roles/{ids['reader']}"}},
    ], key=lambda a: a["role"]["id"])
    on_domain = await _list(cloud, f"scope.domain.id={ids['domain']}")
    inherited = [a for a in on_domain if "OS-INHERIT:inherited_to" in a["scope"]]
    assert inherited == [{
        "scope": {"domain": {"id": ids["domain"]}, "OS-INHERIT:inherited_to": "projects"},
        "user": {"id": ids["u2"]}, "role": {"id": ids["reader"]},
        "links": {"assignment": f"{base}/OS-INHERIT/domains/{ids['domain']}/users/{ids['u2']}"
                                f"/roles/{ids['reader']}/inherited_to_projects"}}]
    assert len(on_domain) == 2
    only_inherited = await _list(cloud, "scope.OS-INHERIT:inherited_to=projects")
    assert [a["role"]["id"] for a in only_inherited] == [ids["reader"]]
    by_user = await _list(cloud, f"user.id={ids['u1']}")
    assert [(a["role"]["id"], a["scope"]) for a in by_user] == [
        (ids["admin"], {"domain": {"id": ids["domain"]}})]
    by_group = await _list(cloud, f"group.id={ids['g']}")
    assert [a["group"]["id"] for a in by_group] == [ids["g"]]
    by_role = await _list(cloud, f"role.id={ids['member']}")
    assert [a["user"]["id"] for a in by_role] == [ids["u2"]]
    system = await _list(cloud, "scope.system=all")
    assert system and all(a["scope"] == {"system": {"all": True}} for a in system)
    assert system[0]["links"]["assignment"].startswith(f"{base}/system/users/")
    everything = await _list(cloud, "")
    assert len(everything) >= 4 + len(system)
    assert (await cloud.client.get(f"{V3}/role_assignments", headers=await cloud.admin_headers())
            ).json()["links"]["self"].endswith("/v3/role_assignments")


async def test_role_assignments_effective_expands_groups_inheritance_and_implied_roles(
        cloud: Cloud) -> None:
    ids = await _setup_tree(cloud)
    base = "http://nimbus.test/identity/v3"
    u1 = await _list(cloud, f"user.id={ids['u1']}&effective")
    pairs = {(a["role"]["id"], next(iter(a["scope"]))) for a in u1}
    # Domain admin implies manager, member and reader; the group's reader grant on top
    # reaches u1.
    assert pairs == {(ids["admin"], "domain"), (ids["manager"], "domain"),
                     (ids["member"], "domain"),
                     (ids["reader"], "domain"), (ids["reader"], "project")}
    via_group = next(a for a in u1 if "project" in a["scope"])
    assert via_group["links"] == {
        "assignment": f"{base}/projects/{ids['top']}/groups/{ids['g']}/roles/{ids['reader']}",
        "membership": f"{base}/groups/{ids['g']}/users/{ids['u1']}"}
    assert "group" not in via_group and via_group["user"] == {"id": ids["u1"]}
    implied = next(a for a in u1 if a["role"]["id"] == ids["member"])
    assert implied["links"]["assignment"] == \
        f"{base}/domains/{ids['domain']}/users/{ids['u1']}/roles/{ids['admin']}"
    assert implied["links"]["prior_role"] == f"{base}/roles/{ids['admin']}/implies/{ids['member']}"
    reader_via_member = next(a for a in u1 if a["role"]["id"] == ids["reader"]
                             and "domain" in a["scope"])
    assert reader_via_member["links"]["prior_role"].endswith(
        f"/roles/{ids['member']}/implies/{ids['reader']}")

    u2 = await _list(cloud, f"user.id={ids['u2']}&effective&role.id={ids['reader']}")
    by_project = {a["scope"]["project"]["id"]: a for a in u2}
    # The inherited domain grant reaches both projects; member on top implies reader there too.
    assert set(by_project) == {ids["top"], ids["sub"]}
    sub = by_project[ids["sub"]]
    assert sub["scope"]["OS-INHERIT:inherited_to"] == "projects"
    assert sub["links"]["assignment"] == (
        f"{base}/OS-INHERIT/domains/{ids['domain']}/users/{ids['u2']}/roles/{ids['reader']}"
        "/inherited_to_projects")
    on_sub = await _list(cloud, f"scope.project.id={ids['sub']}&effective")
    assert {(a["user"]["id"], a["role"]["id"]) for a in on_sub} == {(ids["u2"], ids["reader"])}
    everyone = await _list(cloud, "effective")
    assert not any("group" in a for a in everyone)
    assert not any("OS-INHERIT:inherited_to" in a["scope"] and "domain" in a["scope"]
                   for a in everyone)


async def test_role_assignments_include_subtree_and_names(cloud: Cloud) -> None:
    ids = await _setup_tree(cloud)
    admin = await cloud.admin_headers()
    await cloud.client.put(f"{V3}/projects/{ids['sub']}/users/{ids['u1']}/roles/{ids['member']}",
                           headers=admin)
    direct = await _list(cloud, f"scope.project.id={ids['top']}")
    tree = await _list(cloud, f"scope.project.id={ids['top']}&include_subtree=true")
    assert len(tree) == len(direct) + 1
    assert {a["scope"]["project"]["id"] for a in tree} == {ids["top"], ids["sub"]}
    named = await _list(cloud, f"user.id={ids['u1']}&include_names")
    domain_grant = next(a for a in named if "domain" in a["scope"])
    assert domain_grant["scope"]["domain"] == {"id": ids["domain"], "name": "acme"}
    assert domain_grant["user"] == {"id": ids["u1"], "name": "u1",
                                    "domain": {"id": ids["domain"], "name": "acme"}}
    assert domain_grant["role"] == {"id": ids["admin"], "name": "admin"}
    project_grant = next(a for a in named if "project" in a["scope"])
    assert project_grant["scope"]["project"] == {
        "id": ids["sub"], "name": "sub", "domain": {"id": ids["domain"], "name": "acme"}}
    group = await _list(cloud, f"group.id={ids['g']}&include_names=1")
    assert group[0]["group"]["name"] == "g"
    bare = await _list(cloud, f"user.id={ids['u1']}&include_names=false")
    assert all("name" not in a["user"] for a in bare)


async def test_role_assignments_rejects_useless_filter_combinations(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    for query in ("scope.project.id=a&scope.domain.id=b", "user.id=a&group.id=b",
                  "scope.system=all&scope.project.id=a", "scope.system=all&scope.domain.id=a",
                  "effective&group.id=a",
                  "effective&scope.domain.id=a&scope.OS-INHERIT:inherited_to=projects",
                  "include_subtree=true"):
        resp = await cloud.client.get(f"{V3}/role_assignments?{query}", headers=admin)
        assert resp.status_code == 400, query
        assert resp.json()["error"]["code"] == 400


async def test_non_admin_lists_only_own_assignments(cloud: Cloud) -> None:
    ids = await _setup_tree(cloud)
    token = {"X-Auth-Token": await user_token(cloud, ids["u2"], {"project": {"id": ids["top"]}})}
    own = await _list(cloud, f"user.id={ids['u2']}&effective", headers=token)
    assert own and all(a["user"]["id"] == ids["u2"] for a in own)
    for query in ("", f"user.id={ids['u1']}", f"scope.project.id={ids['top']}"):
        resp = await cloud.client.get(f"{V3}/role_assignments?{query}", headers=token)
        assert resp.status_code == 403, query


async def test_grant_removed_while_its_token_is_being_validated_fails_after(cloud: Cloud) -> None:
    """A validation that read the grant just before it was removed must not keep the token
    valid in the cache once the removal is done."""
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "race")
    member = await role_id(cloud, "member")
    grant = f"{V3}/projects/{project}/users/{user}/roles/{member}"

    async def use(token: str) -> int:
        resp = await cloud.client.get(f"{V3}/auth/catalog", headers={"X-Auth-Token": token})
        return resp.status_code

    async def revoke() -> int:
        return (await cloud.client.delete(grant, headers=admin)).status_code

    for _ in range(5):
        await cloud.client.put(grant, headers=admin)
        token = await user_token(cloud, user, {"project": {"id": project}})
        around = [use(token) for _ in range(10)]
        statuses = await asyncio.gather(*around[:5], revoke(), *around[5:])
        assert statuses[5] == 204
        assert await use(token) == 401
        assert await validate(cloud, token) == 404
