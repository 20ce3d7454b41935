"""Roles and implied roles (Keystone v3 `/v3/roles`, `/implies`, `/v3/role_inferences`)."""

from __future__ import annotations

from tests.functional.conftest import Cloud
from tests.functional.identity.helpers import (
    V3,
    create_role,
    make_domain,
    make_project,
    make_user,
    role_id,
    user_token,
    validate,
)


async def test_role_crud_and_shape(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    created = await cloud.client.post(f"{V3}/roles", headers=admin, json={"role": {
        "name": "auditor", "description": "Reads audit logs", "color": "blue"}})
    assert created.status_code == 201
    role = created.json()["role"]
    assert role == {"id": role["id"], "name": "auditor", "domain_id": None,
                    "description": "Reads audit logs", "options": {}, "color": "blue",
                    "links": {"self": f"http://nimbus.test/identity/v3/roles/{role['id']}"}}
    shown = await cloud.client.get(f"{V3}/roles/{role['id']}", headers=admin)
    assert shown.json()["role"] == role
    updated = await cloud.client.patch(f"{V3}/roles/{role['id']}", headers=admin, json={
        "role": {"name": "auditors", "description": None}})
    assert updated.status_code == 200
    assert updated.json()["role"]["name"] == "auditors"
    assert updated.json()["role"]["description"] is None
    assert updated.json()["role"]["color"] == "blue"
    assert (await cloud.client.delete(f"{V3}/roles/{role['id']}", headers=admin)).status_code == 204
    gone = await cloud.client.get(f"{V3}/roles/{role['id']}", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Could not find role: {role['id']}."
    assert (await cloud.client.delete(f"{V3}/roles/{role['id']}", headers=admin)).status_code == 404


async def test_list_roles_filters_global_and_domain_roles(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    domain = await make_domain(cloud, "acme")
    local = await create_role(cloud, "member", domain_id=domain)
    names = [r["name"] for r in (await cloud.client.get(f"{V3}/roles", headers=admin)).json()["roles"]]
    assert names == ["admin", "manager", "member", "reader", "service"]
    in_domain = (await cloud.client.get(f"{V3}/roles?domain_id={domain}", headers=admin)).json()
    assert [(r["id"], r["domain_id"]) for r in in_domain["roles"]] == [(local, domain)]
    by_name = (await cloud.client.get(f"{V3}/roles?name=member", headers=admin)).json()["roles"]
    assert len(by_name) == 1 and by_name[0]["domain_id"] is None
    assert (await cloud.client.get(f"{V3}/roles?name=nope", headers=admin)).json()["roles"] == []


async def test_role_name_is_unique_within_its_domain(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await create_role(cloud, "ops")
    again = await cloud.client.post(f"{V3}/roles", json={"role": {"name": "ops"}}, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["title"] == "Conflict"
    await create_role(cloud, "ops", domain_id="default")
    other = await create_role(cloud, "ops2")
    rename = await cloud.client.patch(f"{V3}/roles/{other}", json={"role": {"name": "ops"}},
                                      headers=admin)
    assert rename.status_code == 409


async def test_bad_role_input_is_400_without_writes(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    before = (await cloud.client.get(f"{V3}/roles", headers=admin)).json()["roles"]
    bodies = [{}, {"role": {}}, {"role": {"name": ""}}, {"role": {"name": "   "}},
              {"role": {"name": "x" * 256}}, {"role": {"name": 5}},
              {"role": {"name": "x", "options": {"sticky": True}}},
              {"role": {"name": "x", "options": {"immutable": "yes"}}},
              {"role": {"name": "x", "domain_id": "no-such-domain"}}, {"roles": {"name": "x"}}]
    for body in bodies:
        resp = await cloud.client.post(f"{V3}/roles", json=body, headers=admin)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]["code"] == 400
    assert (await cloud.client.get(f"{V3}/roles", headers=admin)).json()["roles"] == before
    role = await create_role(cloud, "x", domain_id="default")
    for body in [{"role": {}}, {"role": {"domain_id": None}}, {"role": {"name": None}},
                 {"role": {"id": "other"}}]:
        resp = await cloud.client.patch(f"{V3}/roles/{role}", json=body, headers=admin)
        assert resp.status_code == 400, (body, resp.text)
    missing = await cloud.client.patch(f"{V3}/roles/nope", json={"role": {"name": "y"}},
                                       headers=admin)
    assert missing.status_code == 404


async def test_non_admin_cannot_manage_roles(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "mallory")
    member = await role_id(cloud, "member")
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{member}", headers=admin)
    token = {"X-Auth-Token": await user_token(cloud, user, {"project": {"id": project}})}
    assert (await cloud.client.get(f"{V3}/roles", headers=token)).status_code == 403
    assert (await cloud.client.post(f"{V3}/roles", json={"role": {"name": "x"}},
                                    headers=token)).status_code == 403
    assert (await cloud.client.delete(f"{V3}/roles/{member}", headers=token)).status_code == 403
    assert (await cloud.client.get(f"{V3}/role_inferences", headers=token)).status_code == 403


async def test_immutable_role_can_only_be_made_mutable(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    role = await create_role(cloud, "locked", options={"immutable": True})
    shown = (await cloud.client.get(f"{V3}/roles/{role}", headers=admin)).json()["role"]
    assert shown["options"] == {"immutable": True}
    assert (await cloud.client.delete(f"{V3}/roles/{role}", headers=admin)).status_code == 403
    rename = await cloud.client.patch(f"{V3}/roles/{role}", json={"role": {"name": "other"}},
                                      headers=admin)
    assert rename.status_code == 403
    unlock = await cloud.client.patch(f"{V3}/roles/{role}", headers=admin,
                                      json={"role": {"options": {"immutable": None}}})
    assert unlock.status_code == 200 and unlock.json()["role"]["options"] == {}
    assert (await cloud.client.delete(f"{V3}/roles/{role}", headers=admin)).status_code == 204


async def test_deleting_a_role_removes_grants_rules_and_fails_tokens_at_once(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    only, both = await make_user(cloud, "only"), await make_user(cloud, "both")
    custom = await create_role(cloud, "custom")
    extra = await create_role(cloud, "extra")
    reader = await role_id(cloud, "reader")
    assert (await cloud.client.put(f"{V3}/roles/{custom}/implies/{extra}",
                                   headers=admin)).status_code == 201
    for user, role in ((only, custom), (both, custom), (both, reader)):
        await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{role}", headers=admin)
    only_token = await user_token(cloud, only, {"project": {"id": project}})
    both_token = await user_token(cloud, both, {"project": {"id": project}})
    assert {r["name"] for r in (await validate(cloud, only_token))["roles"]} == {"custom", "extra"}

    assert (await cloud.client.delete(f"{V3}/roles/{custom}", headers=admin)).status_code == 204
    assert await validate(cloud, only_token) == 404
    assert {r["name"] for r in (await validate(cloud, both_token))["roles"]} == {"reader"}
    left = await cloud.client.get(f"{V3}/role_assignments?role.id={custom}", headers=admin)
    assert left.json()["role_assignments"] == []
    rules = (await cloud.client.get(f"{V3}/role_inferences", headers=admin)).json()
    assert all(rule["prior_role"]["id"] != custom for rule in rules["role_inferences"])
    assert (await cloud.client.get(f"{V3}/roles/{extra}", headers=admin)).status_code == 200


async def test_implied_role_rules(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    base = "http://nimbus.test/identity/v3"
    prior, implied = await create_role(cloud, "prior"), await create_role(cloud, "implied")
    rule = f"{V3}/roles/{prior}/implies/{implied}"
    created = await cloud.client.put(rule, headers=admin)
    assert created.status_code == 201
    assert created.json() == {
        "role_inference": {
            "prior_role": {"id": prior, "name": "prior", "links": {"self": f"{base}/roles/{prior}"}},
            "implies": {"id": implied, "name": "implied",
                        "links": {"self": f"{base}/roles/{implied}"}}},
        "links": {"self": f"{base}/roles/{prior}/implies/{implied}"}}
    assert (await cloud.client.put(rule, headers=admin)).status_code == 201
    assert (await cloud.client.get(rule, headers=admin)).json() == created.json()
    head = await cloud.client.head(rule, headers=admin)
    assert head.status_code == 204 and head.content == b""
    listed = (await cloud.client.get(f"{V3}/roles/{prior}/implies", headers=admin)).json()
    assert listed["role_inference"]["prior_role"]["id"] == prior
    assert [r["id"] for r in listed["role_inference"]["implies"]] == [implied]
    assert listed["links"]["self"] == f"{base}/roles/{prior}/implies"
    inferences = (await cloud.client.get(f"{V3}/role_inferences", headers=admin)).json()
    by_prior = {i["prior_role"]["name"]: [r["name"] for r in i["implies"]]
                for i in inferences["role_inferences"]}
    assert by_prior == {"admin": ["manager", "member"], "manager": ["member"], "member": ["reader"],
                        "prior": ["implied"]}

    assert (await cloud.client.delete(rule, headers=admin)).status_code == 204
    assert (await cloud.client.get(rule, headers=admin)).status_code == 404
    assert (await cloud.client.head(rule, headers=admin)).status_code == 404
    assert (await cloud.client.delete(rule, headers=admin)).status_code == 404
    assert (await cloud.client.put(f"{V3}/roles/nope/implies/{implied}",
                                   headers=admin)).status_code == 404
    assert (await cloud.client.get(f"{V3}/roles/nope/implies", headers=admin)).status_code == 404


async def test_prohibited_and_cross_domain_implications_are_403(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    admin_role, member = await role_id(cloud, "admin"), await role_id(cloud, "member")
    resp = await cloud.client.put(f"{V3}/roles/{member}/implies/{admin_role}", headers=admin)
    assert resp.status_code == 403
    local = await create_role(cloud, "local", domain_id="default")
    resp = await cloud.client.put(f"{V3}/roles/{member}/implies/{local}", headers=admin)
    assert resp.status_code == 403
    # A domain-specific role may imply a global one.
    assert (await cloud.client.put(f"{V3}/roles/{local}/implies/{member}",
                                   headers=admin)).status_code == 201


async def test_new_implication_shows_in_existing_and_new_tokens(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "jane")
    member = await role_id(cloud, "member")
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{member}", headers=admin)
    token = await user_token(cloud, user, {"project": {"id": project}})
    auditor = await create_role(cloud, "auditor")
    await cloud.client.put(f"{V3}/roles/{member}/implies/{auditor}", headers=admin)
    assert "auditor" in {r["name"] for r in (await validate(cloud, token))["roles"]}
    fresh = await user_token(cloud, user, {"project": {"id": project}})
    assert {r["name"] for r in (await validate(cloud, fresh))["roles"]} == {
        "member", "reader", "auditor"}


async def test_nul_and_oversized_input_is_4xx_never_500(cloud: Cloud) -> None:
    """PostgreSQL rejects NUL in text; every backend must answer a client error instead."""
    admin = await cloud.admin_headers()
    for odd in ("%00", "a" * 300):
        for method, path, body in [
                ("GET", f"/roles/{odd}", None), ("PUT", f"/roles/{odd}/implies/{odd}", None),
                ("PUT", f"/projects/{odd}/users/{odd}/roles/{odd}", None),
                ("GET", f"/role_assignments?user.id={odd}&effective", None),
                ("PUT", f"/regions/{odd}", {"region": {}}), ("GET", f"/endpoints?service_id={odd}", None),
                ("GET", f"/users/{odd}/application_credentials", None),
                ("GET", f"/credentials/{odd}", None)]:
            resp = await cloud.client.request(method, V3 + path, headers=admin, json=body)
            if odd == "%00":
                assert resp.status_code == 400, (method, path, resp.text)
            elif "?" in path:  # a filter that matches nothing lists nothing
                assert resp.status_code == 200, (method, path, resp.text)
            else:
                assert resp.status_code in (400, 404), (method, path, resp.text)
    for kind, body in [("roles", {"role": {"name": "a\u0000b"}}),
                       ("regions", {"region": {"id": "r\u0000"}}),
                       ("credentials", {"credential": {"user_id": "u\u0000", "type": "t", "blob": "b"}})]:
        resp = await cloud.client.post(f"{V3}/{kind}", headers=admin, json=body)
        assert resp.status_code == 400, (kind, resp.text)
