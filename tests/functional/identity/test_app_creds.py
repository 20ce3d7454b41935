"""Application credentials: the API, and authenticating with them end to end."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from nimbus.identity.models import ApplicationCredentialRow
from nimbus.identity.service import passwords
from tests.functional.conftest import Cloud
from tests.functional.identity.helpers import (
    V3,
    make_project,
    make_user,
    role_id,
    user_token,
    validate,
)


async def _member(cloud: Cloud, name: str = "lena") -> tuple[str, str, dict[str, str]]:
    """A user with member on a new project, and headers with their project token."""
    project = await make_project(cloud, f"{name}-project")
    user = await make_user(cloud, name)
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/"
                           f"{await role_id(cloud, 'member')}", headers=await cloud.admin_headers())
    token = await user_token(cloud, user, {"project": {"id": project}})
    return user, project, {"X-Auth-Token": token}


async def _create(cloud: Cloud, user: str, headers: dict[str, str], **attrs: Any) -> Any:
    return await cloud.client.post(f"{V3}/users/{user}/application_credentials", headers=headers,
                                   json={"application_credential": attrs})


async def _auth(cloud: Cloud, method: dict[str, Any]) -> Any:
    return await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": method}}})


async def test_create_show_list_and_authenticate(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud)
    resp = await _create(cloud, user, headers, name="monitoring", description="for the bot")
    assert resp.status_code == 201, resp.text
    cred = resp.json()["application_credential"]
    secret = cred.pop("secret")
    assert len(secret) >= 64
    assert cred == {
        "id": cred["id"], "name": "monitoring", "description": "for the bot", "user_id": user,
        "project_id": project, "expires_at": None, "unrestricted": False,
        "roles": sorted([{"id": await role_id(cloud, n), "name": n, "domain_id": None}
                         for n in ("member", "reader")], key=lambda r: r["name"]),
        "access_rules": [],
        "links": {"self": f"http://nimbus.test/identity/v3/users/{user}/application_credentials/"
                          f"{cred['id']}"}}
    shown = await cloud.client.get(f"{V3}/users/{user}/application_credentials/{cred['id']}",
                                   headers=headers)
    assert shown.json()["application_credential"] == cred
    listed = await cloud.client.get(f"{V3}/users/{user}/application_credentials", headers=headers)
    assert [c["id"] for c in listed.json()["application_credentials"]] == [cred["id"]]
    assert "secret" not in listed.json()["application_credentials"][0]
    by_name = await cloud.client.get(f"{V3}/users/{user}/application_credentials?name=other",
                                     headers=headers)
    assert by_name.json()["application_credentials"] == []

    # The secret is stored only as a hash.
    async with cloud.identity.read() as session:
        row = await session.get(ApplicationCredentialRow, cred["id"])
        assert row is not None and secret not in row.secret_hash
        assert await passwords.verify_password(secret, row.secret_hash)

    for method in ({"id": cred["id"], "secret": secret},
                   {"name": "monitoring", "user": {"id": user}, "secret": secret}):
        auth = await _auth(cloud, method)
        assert auth.status_code == 201, auth.text
        token = auth.json()["token"]
        assert token["methods"] == ["application_credential"]
        assert token["project"]["id"] == project
        assert token["application_credential"] == {"id": cred["id"], "name": "monitoring",
                                                   "restricted": True}
        assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    wrong = await _auth(cloud, {"id": cred["id"], "secret": secret + "x"})
    assert wrong.status_code == 401


async def test_roles_are_a_subset_of_the_creators_roles(cloud: Cloud) -> None:
    user, _, headers = await _member(cloud)
    reader = await role_id(cloud, "reader")
    resp = await _create(cloud, user, headers, name="ro", roles=[{"name": "reader"}],
                         secret="my-own-secret")
    assert resp.status_code == 201
    assert [r["id"] for r in resp.json()["application_credential"]["roles"]] == [reader]
    assert resp.json()["application_credential"]["secret"] == "my-own-secret"
    auth = await _auth(cloud, {"id": resp.json()["application_credential"]["id"],
                               "secret": "my-own-secret"})
    assert [r["name"] for r in auth.json()["token"]["roles"]] == ["reader"]
    # Asking for member brings its implied reader along.
    implied = await _create(cloud, user, headers, name="rw",
                            roles=[{"id": await role_id(cloud, "member")}])
    assert {r["name"] for r in implied.json()["application_credential"]["roles"]} == {
        "member", "reader"}
    escalate = await _create(cloud, user, headers, name="root", roles=[{"name": "admin"}])
    assert escalate.status_code == 400
    unknown = await _create(cloud, user, headers, name="ghost", roles=[{"name": "ghost"}])
    assert unknown.status_code == 404
    listed = await cloud.client.get(f"{V3}/users/{user}/application_credentials", headers=headers)
    assert {c["name"] for c in listed.json()["application_credentials"]} == {"ro", "rw"}


async def test_create_errors(cloud: Cloud) -> None:
    user, _, headers = await _member(cloud)
    assert (await _create(cloud, user, headers, name="dup")).status_code == 201
    dup = await _create(cloud, user, headers, name="dup")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == 409
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    bad = [{}, {"name": ""}, {"name": "x", "expires_at": past}, {"name": "x", "expires_at": "soon"},
           {"name": "x", "roles": [{}]}, {"name": "x", "roles": [{"id": "a", "name": "b"}]},
           {"name": "x", "unrestricted": "yes"}, {"name": "x", "colour": "red"},
           {"name": "x", "access_rules": [{"method": "FETCH"}]}]
    for attrs in bad:
        resp = await _create(cloud, user, headers, **attrs)
        assert resp.status_code == 400, (attrs, resp.text)
    listed = await cloud.client.get(f"{V3}/users/{user}/application_credentials", headers=headers)
    assert [c["name"] for c in listed.json()["application_credentials"]] == ["dup"]
    # Only for oneself, and only from a project-scoped token.
    other = await make_user(cloud, "other")
    assert (await _create(cloud, other, headers, name="x")).status_code == 403
    assert (await _create(cloud, other, await cloud.admin_headers(), name="x")).status_code == 403
    unscoped = {"X-Auth-Token": await user_token(cloud, user, None)}
    assert (await _create(cloud, user, unscoped, name="x")).status_code == 400
    # Others' credentials are hidden; admins may look.
    assert (await cloud.client.get(f"{V3}/users/{other}/application_credentials",
                                   headers=headers)).status_code == 403
    assert (await cloud.client.get(f"{V3}/users/{user}/application_credentials",
                                   headers=await cloud.admin_headers())).status_code == 200
    assert (await cloud.client.get(f"{V3}/users/{user}/application_credentials/nope",
                                   headers=headers)).status_code == 404


async def test_future_expiry_and_access_rules_are_kept_and_expiry_enforced(cloud: Cloud) -> None:
    user, _, headers = await _member(cloud)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=123456)
    resp = await _create(cloud, user, headers, name="temp", expires_at=when.isoformat(),
                         access_rules=[{"service": "compute", "method": "GET",
                                        "path": "/v2.1/servers"}])
    assert resp.status_code == 201, resp.text
    cred = resp.json()["application_credential"]
    # Keystone echoes the expiry to the microsecond (tempest checks it).
    assert cred["expires_at"] == when.replace(tzinfo=None).isoformat()
    [rule] = cred["access_rules"]
    assert rule["service"] == "compute" and rule["method"] == "GET" and len(rule["id"]) == 32
    assert (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})).status_code == 201
    async with cloud.identity.write() as session:
        await session.execute(update(ApplicationCredentialRow).where(
            ApplicationCredentialRow.id == cred["id"]).values(
            expires_at=dt.datetime(2000, 1, 1)))
    assert (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})).status_code == 401


async def test_delete_revokes_its_tokens_at_once(cloud: Cloud) -> None:
    user, _, headers = await _member(cloud)
    cred = (await _create(cloud, user, headers, name="ci")).json()["application_credential"]
    token = (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})
             ).headers["X-Subject-Token"]
    assert isinstance(await validate(cloud, token), dict)
    path = f"{V3}/users/{user}/application_credentials/{cred['id']}"
    assert (await cloud.client.delete(path, headers=headers)).status_code == 204
    assert await validate(cloud, token) == 404
    assert (await cloud.client.get(f"{V3}/auth/catalog",
                                   headers={"X-Auth-Token": token})).status_code == 401
    assert (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})).status_code == 401
    assert (await cloud.client.get(path, headers=headers)).status_code == 404
    assert (await cloud.client.delete(path, headers=headers)).status_code == 404


async def test_removed_grant_fails_app_cred_tokens(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud)
    cred = (await _create(cloud, user, headers, name="ci")).json()["application_credential"]
    token = (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})
             ).headers["X-Subject-Token"]
    await cloud.client.delete(f"{V3}/projects/{project}/users/{user}/roles/"
                              f"{await role_id(cloud, 'member')}",
                              headers=await cloud.admin_headers())
    assert await validate(cloud, token) == 404


async def test_restricted_credentials_cannot_manage_credentials(cloud: Cloud) -> None:
    user, _, headers = await _member(cloud)
    restricted = (await _create(cloud, user, headers, name="r")).json()["application_credential"]
    free = (await _create(cloud, user, headers, name="u", unrestricted=True)
            ).json()["application_credential"]
    assert free["unrestricted"] is True
    r_token = {"X-Auth-Token": (await _auth(cloud, {"id": restricted["id"],
                                                    "secret": restricted["secret"]})
                                ).headers["X-Subject-Token"]}
    u_token = {"X-Auth-Token": (await _auth(cloud, {"id": free["id"], "secret": free["secret"]})
                                ).headers["X-Subject-Token"]}
    assert (await _create(cloud, user, r_token, name="x")).status_code == 403
    assert (await cloud.client.delete(
        f"{V3}/users/{user}/application_credentials/{free['id']}",
        headers=r_token)).status_code == 403
    made = await _create(cloud, user, u_token, name="child")
    assert made.status_code == 201
    # Application credential tokens cannot be rescoped.
    rescope = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": r_token["X-Auth-Token"]}}}})
    assert rescope.status_code == 403


async def test_deleting_a_role_deletes_the_credentials_that_carried_it(cloud: Cloud) -> None:
    user, project, headers = await _member(cloud)
    admin = await cloud.admin_headers()
    extra = (await cloud.client.post(f"{V3}/roles", json={"role": {"name": "deployer"}},
                                     headers=admin)).json()["role"]["id"]
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/{extra}", headers=admin)
    token = {"X-Auth-Token": await user_token(cloud, user, {"project": {"id": project}})}
    cred = (await _create(cloud, user, token, name="deploy", roles=[{"id": extra}])
            ).json()["application_credential"]
    cred_token = (await _auth(cloud, {"id": cred["id"], "secret": cred["secret"]})
                  ).headers["X-Subject-Token"]
    assert [r["name"] for r in (await validate(cloud, cred_token))["roles"]] == ["deployer"]
    assert (await cloud.client.delete(f"{V3}/roles/{extra}", headers=admin)).status_code == 204
    assert await validate(cloud, cred_token) == 404
    assert (await cloud.client.get(f"{V3}/users/{user}/application_credentials/{cred['id']}",
                                   headers=headers)).status_code == 404
