"""Credentials (Keystone v3 `/v3/credentials`)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.functional.conftest import Cloud
from tests.functional.identity.helpers import (
    V3,
    make_project,
    make_user,
    role_id,
    user_token,
)


async def _member(cloud: Cloud, name: str) -> tuple[str, str, dict[str, str]]:
    project = await make_project(cloud, f"{name}-project")
    user = await make_user(cloud, name)
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/"
                           f"{await role_id(cloud, 'member')}", headers=await cloud.admin_headers())
    return user, project, {"X-Auth-Token": await user_token(cloud, user, {"project": {"id": project}})}


async def _create(cloud: Cloud, headers: dict[str, str], **attrs: Any) -> Any:
    return await cloud.client.post(f"{V3}/credentials", json={"credential": attrs},
                                   headers=headers)


async def test_credential_crud_and_shape(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud, "nina")
    resp = await _create(cloud, headers, user_id=user, type="cert", blob="-----BEGIN-----")
    assert resp.status_code == 201, resp.text
    cred = resp.json()["credential"]
    assert cred == {"id": cred["id"], "user_id": user, "project_id": None, "type": "cert",
                    "blob": "-----BEGIN-----",
                    "links": {"self": f"http://nimbus.test/identity/v3/credentials/{cred['id']}"}}
    path = f"{V3}/credentials/{cred['id']}"
    assert (await cloud.client.get(path, headers=headers)).json()["credential"] == cred
    patched = await cloud.client.patch(path, headers=headers, json={"credential": {
        "blob": "-----OTHER-----", "project_id": project}})
    assert patched.status_code == 200
    assert patched.json()["credential"]["blob"] == "-----OTHER-----"
    assert patched.json()["credential"]["project_id"] == project
    assert (await cloud.client.delete(path, headers=headers)).status_code == 204
    gone = await cloud.client.get(path, headers=headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Could not find credential: {cred['id']}."


async def test_ec2_credential_id_is_the_hash_of_its_access_key(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud, "omar")
    blob = json.dumps({"access": "AKIA123", "secret": "s3cr3t"})
    resp = await _create(cloud, headers, user_id=user, project_id=project, type="ec2", blob=blob)
    assert resp.status_code == 201, resp.text
    assert resp.json()["credential"]["id"] == hashlib.sha256(b"AKIA123").hexdigest()
    again = await _create(cloud, headers, user_id=user, project_id=project, type="ec2", blob=blob)
    assert again.status_code == 409
    for attrs in ({"blob": blob},  # no project
                  {"blob": "not json", "project_id": project},
                  {"blob": json.dumps({"secret": "x"}), "project_id": project},
                  {"blob": json.dumps(["access"]), "project_id": project}):
        resp = await _create(cloud, headers, user_id=user, type="ec2", **attrs)
        assert resp.status_code == 400, (attrs, resp.text)
    cred_id = hashlib.sha256(b"AKIA123").hexdigest()
    broken = await cloud.client.patch(f"{V3}/credentials/{cred_id}", headers=headers,
                                      json={"credential": {"blob": "{}"}})
    assert broken.status_code == 400
    shown = await cloud.client.get(f"{V3}/credentials/{cred_id}", headers=headers)
    assert json.loads(shown.json()["credential"]["blob"])["access"] == "AKIA123"


async def test_list_filters_and_users_see_only_their_own(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    alice, _, alice_h = await _member(cloud, "alice")
    bob, _, bob_h = await _member(cloud, "bob")
    a1 = (await _create(cloud, alice_h, user_id=alice, type="totp", blob="a")).json()["credential"]
    a2 = (await _create(cloud, alice_h, user_id=alice, type="cert", blob="b")).json()["credential"]
    b1 = (await _create(cloud, bob_h, user_id=bob, type="totp", blob="c")).json()["credential"]

    async def ids(query: str, headers: dict[str, str]) -> set[str]:
        resp = await cloud.client.get(f"{V3}/credentials{query}", headers=headers)
        assert resp.status_code == 200, resp.text
        return {c["id"] for c in resp.json()["credentials"]}

    assert await ids("", admin) == {a1["id"], a2["id"], b1["id"]}
    assert await ids(f"?user_id={alice}", admin) == {a1["id"], a2["id"]}
    assert await ids("?type=totp", admin) == {a1["id"], b1["id"]}
    assert await ids(f"?user_id={alice}&type=cert", admin) == {a2["id"]}
    assert await ids("", alice_h) == {a1["id"], a2["id"]}
    assert await ids(f"?user_id={bob}", alice_h) == set()
    # Another user's credential: not readable, changeable or deletable; nor creatable for them.
    path = f"{V3}/credentials/{b1['id']}"
    assert (await cloud.client.get(path, headers=alice_h)).status_code == 403
    assert (await cloud.client.patch(path, json={"credential": {"blob": "x"}},
                                     headers=alice_h)).status_code == 403
    assert (await cloud.client.delete(path, headers=alice_h)).status_code == 403
    assert (await _create(cloud, alice_h, user_id=bob, type="totp", blob="x")).status_code == 403
    give_away = await cloud.client.patch(f"{V3}/credentials/{a1['id']}", headers=alice_h,
                                         json={"credential": {"user_id": bob}})
    assert give_away.status_code == 403
    assert (await cloud.client.get(path, headers=admin)).status_code == 200


async def test_bad_credential_input_is_400(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    user = await make_user(cloud, "pat")
    for attrs in ({}, {"user_id": user, "type": "cert"}, {"user_id": user, "blob": "x"},
                  {"user_id": user, "type": "", "blob": "x"},
                  {"user_id": user, "type": "cert", "blob": {"not": "a string"}},
                  {"user_id": "ghost", "type": "cert", "blob": "x"},
                  {"user_id": user, "project_id": "ghost", "type": "cert", "blob": "x"}):
        resp = await _create(cloud, admin, **attrs)
        assert resp.status_code == 400, (attrs, resp.text)
    assert (await cloud.client.get(f"{V3}/credentials", headers=admin)).json()["credentials"] == []
    cred = (await _create(cloud, admin, user_id=user, type="cert", blob="x")).json()["credential"]
    for body in ({"credential": {}}, {"credential": {"type": None}},
                 {"credential": {"id": "other"}}, {"credential": {"user_id": "ghost"}}):
        resp = await cloud.client.patch(f"{V3}/credentials/{cred['id']}", json=body, headers=admin)
        assert resp.status_code == 400, (body, resp.text)
    assert (await cloud.client.get(f"{V3}/credentials/{cred['id']}", headers=admin)
            ).json()["credential"]["user_id"] == user


async def test_app_cred_tokens_reach_only_their_project(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud, "quinn")
    other_project = await make_project(cloud, "elsewhere")
    mine = (await _create(cloud, headers, user_id=user, project_id=project, type="totp",
                          blob="x")).json()["credential"]
    await _create(cloud, headers, user_id=user, type="totp", blob="y")
    made = await cloud.client.post(f"{V3}/users/{user}/application_credentials", headers=headers,
                                   json={"application_credential": {"name": "ci"}})
    cred = made.json()["application_credential"]
    auth = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    delegated = {"X-Auth-Token": auth.headers["X-Subject-Token"]}
    listed = (await cloud.client.get(f"{V3}/credentials", headers=delegated)).json()
    assert [c["id"] for c in listed["credentials"]] == [mine["id"]]
    outside = await _create(cloud, delegated, user_id=user, project_id=other_project,
                            type="totp", blob="z")
    assert outside.status_code == 403
    ec2 = await _create(cloud, delegated, user_id=user, project_id=project, type="ec2",
                        blob=json.dumps({"access": "k", "secret": "s"}))
    assert ec2.status_code == 403
