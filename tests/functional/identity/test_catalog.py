"""Regions, services and endpoints (Keystone v3), and the catalog that tokens carry."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.functional.conftest import Cloud
from tests.functional.identity.helpers import (
    V3,
    make_project,
    make_user,
    role_id,
    user_token,
)

BASE = "http://nimbus.test/identity/v3"


async def _post(cloud: Cloud, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await cloud.client.post(f"{V3}/{kind}s", json={kind: body},
                                   headers=await cloud.admin_headers())
    assert resp.status_code == 201, resp.text
    return dict(resp.json()[kind])


async def test_region_crud_hierarchy_and_filters(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    parent = await _post(cloud, "region", {"id": "Europe", "description": "EU"})
    assert parent == {"id": "Europe", "description": "EU", "parent_region_id": None,
                      "links": {"self": f"{BASE}/regions/Europe"}}
    generated = await _post(cloud, "region", {"parent_region_id": "Europe"})
    assert len(generated["id"]) == 32 and generated["description"] == ""
    put = await cloud.client.put(f"{V3}/regions/Paris", headers=admin,
                                 json={"region": {"parent_region_id": "Europe", "tz": "CET"}})
    assert put.status_code == 201
    assert put.json()["region"]["tz"] == "CET"
    children = (await cloud.client.get(f"{V3}/regions?parent_region_id=Europe",
                                       headers=admin)).json()["regions"]
    assert {r["id"] for r in children} == {generated["id"], "Paris"}
    everything = (await cloud.client.get(f"{V3}/regions", headers=admin)).json()["regions"]
    assert {"RegionOne", "Europe", "Paris"} <= {r["id"] for r in everything}
    patched = await cloud.client.patch(f"{V3}/regions/Paris", headers=admin,
                                       json={"region": {"description": "City of light"}})
    assert patched.json()["region"]["description"] == "City of light"
    assert patched.json()["region"]["parent_region_id"] == "Europe"
    # Deleting a region deletes its children.
    assert (await cloud.client.delete(f"{V3}/regions/Europe", headers=admin)).status_code == 204
    for region in ("Europe", "Paris", generated["id"]):
        assert (await cloud.client.get(f"{V3}/regions/{region}", headers=admin)).status_code == 404


async def test_region_errors(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    dup = await cloud.client.post(f"{V3}/regions", json={"region": {"id": "RegionOne"}},
                                  headers=admin)
    assert dup.status_code == 409
    orphan = await cloud.client.post(f"{V3}/regions", headers=admin,
                                     json={"region": {"parent_region_id": "Atlantis"}})
    assert orphan.status_code == 404
    assert orphan.json()["error"]["message"] == "Could not find region: Atlantis."
    mismatch = await cloud.client.put(f"{V3}/regions/A", json={"region": {"id": "B"}},
                                      headers=admin)
    assert mismatch.status_code == 400
    too_long = await cloud.client.put(f"{V3}/regions/{'x' * 256}", json={"region": {}},
                                      headers=admin)
    assert too_long.status_code == 400
    await _post(cloud, "region", {"id": "A"})
    await _post(cloud, "region", {"id": "B", "parent_region_id": "A"})
    cycle = await cloud.client.patch(f"{V3}/regions/A", json={"region": {"parent_region_id": "B"}},
                                     headers=admin)
    assert cycle.status_code == 400
    assert (await cloud.client.patch(f"{V3}/regions/A", json={"region": {"parent_region_id": "A"}},
                                     headers=admin)).status_code == 400
    in_use = await cloud.client.delete(f"{V3}/regions/RegionOne", headers=admin)
    assert in_use.status_code == 403
    assert (await cloud.client.get(f"{V3}/regions/RegionOne", headers=admin)).status_code == 200


async def test_service_crud_and_type_filter(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    svc = await _post(cloud, "service", {"type": "dns", "name": "designate",
                                         "description": "DNS as a service"})
    assert svc == {"id": svc["id"], "type": "dns", "name": "designate", "enabled": True,
                   "description": "DNS as a service", "links": {"self": f"{BASE}/services/{svc['id']}"}}
    dns = (await cloud.client.get(f"{V3}/services?type=dns", headers=admin)).json()["services"]
    assert [s["id"] for s in dns] == [svc["id"]]
    assert len((await cloud.client.get(f"{V3}/services", headers=admin)).json()["services"]) == 8
    patched = await cloud.client.patch(f"{V3}/services/{svc['id']}", headers=admin,
                                       json={"service": {"enabled": False, "name": "dns2"}})
    assert patched.json()["service"]["enabled"] is False
    assert patched.json()["service"]["name"] == "dns2"
    for bad in ({}, {"service": {}}, {"service": {"type": ""}}, {"service": {"type": "x", "enabled": "yes"}}):
        resp = await cloud.client.post(f"{V3}/services", json=bad, headers=admin)
        assert resp.status_code == 400, bad
    assert (await cloud.client.patch(f"{V3}/services/{svc['id']}", json={"service": {"type": None}},
                                     headers=admin)).status_code == 400
    ep = await _post(cloud, "endpoint", {"service_id": svc["id"], "interface": "public",
                                         "url": "http://dns.example"})
    assert (await cloud.client.delete(f"{V3}/services/{svc['id']}", headers=admin)).status_code == 204
    assert (await cloud.client.get(f"{V3}/services/{svc['id']}", headers=admin)).status_code == 404
    assert (await cloud.client.get(f"{V3}/endpoints/{ep['id']}", headers=admin)).status_code == 404


async def test_endpoint_crud_filters_and_validation(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    svc = await _post(cloud, "service", {"type": "dns"})
    ep = await _post(cloud, "endpoint", {"service_id": svc["id"], "interface": "internal",
                                         "url": "http://dns.internal/v2/$(project_id)s",
                                         "region_id": "RegionOne", "name": "dns-internal"})
    assert ep == {"id": ep["id"], "interface": "internal", "region_id": "RegionOne",
                  "region": "RegionOne", "service_id": svc["id"],
                  "url": "http://dns.internal/v2/$(project_id)s", "enabled": True,
                  "name": "dns-internal", "links": {"self": f"{BASE}/endpoints/{ep['id']}"}}
    legacy = await _post(cloud, "endpoint", {"service_id": svc["id"], "interface": "public",
                                             "url": "http://dns.example", "region": "Mars"})
    assert legacy["region_id"] == "Mars"
    assert (await cloud.client.get(f"{V3}/regions/Mars", headers=admin)).status_code == 200

    by_service = (await cloud.client.get(f"{V3}/endpoints?service_id={svc['id']}",
                                         headers=admin)).json()["endpoints"]
    assert {e["id"] for e in by_service} == {ep["id"], legacy["id"]}
    internal = (await cloud.client.get(f"{V3}/endpoints?service_id={svc['id']}&interface=internal",
                                       headers=admin)).json()["endpoints"]
    assert [e["id"] for e in internal] == [ep["id"]]
    on_mars = (await cloud.client.get(f"{V3}/endpoints?region_id=Mars",
                                      headers=admin)).json()["endpoints"]
    assert [e["id"] for e in on_mars] == [legacy["id"]]

    patched = await cloud.client.patch(f"{V3}/endpoints/{ep['id']}", headers=admin, json={
        "endpoint": {"interface": "admin", "enabled": False}})
    assert patched.status_code == 200
    assert patched.json()["endpoint"]["interface"] == "admin"
    assert patched.json()["endpoint"]["enabled"] is False
    assert patched.json()["endpoint"]["name"] == "dns-internal"

    bad_bodies = [
        {"service_id": svc["id"], "interface": "private", "url": "http://x"},
        {"service_id": svc["id"], "interface": "public", "url": "not a url"},
        {"service_id": svc["id"], "interface": "public"},
        {"service_id": "nope", "interface": "public", "url": "http://x"},
        {"service_id": svc["id"], "interface": "public", "url": "http://x", "region_id": "Nowhere"},
        {"service_id": svc["id"], "interface": "public", "url": "http://x/$(tenant_name)s"},
        {"service_id": svc["id"], "interface": "public", "url": "http://x", "enabled": "no"},
    ]
    before = len((await cloud.client.get(f"{V3}/endpoints", headers=admin)).json()["endpoints"])
    for body in bad_bodies:
        resp = await cloud.client.post(f"{V3}/endpoints", json={"endpoint": body}, headers=admin)
        assert resp.status_code == 400, (body, resp.text)
    assert len((await cloud.client.get(f"{V3}/endpoints", headers=admin)).json()["endpoints"]) == before
    assert (await cloud.client.patch(f"{V3}/endpoints/{ep['id']}", headers=admin, json={
        "endpoint": {"service_id": "nope"}})).status_code == 400
    assert (await cloud.client.delete(f"{V3}/endpoints/{ep['id']}", headers=admin)).status_code == 204
    assert (await cloud.client.get(f"{V3}/endpoints/{ep['id']}", headers=admin)).status_code == 404
    assert (await cloud.client.delete(f"{V3}/endpoints/{ep['id']}", headers=admin)).status_code == 404


async def test_catalog_changes_appear_in_new_tokens(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    async def catalog() -> dict[str, Any]:
        resp = await cloud.client.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "admin-secret-pw"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        return {e["type"]: e for e in resp.json()["token"]["catalog"]}

    assert "dns" not in await catalog()
    svc = await _post(cloud, "service", {"type": "dns", "name": "designate"})
    ep = await _post(cloud, "endpoint", {"service_id": svc["id"], "interface": "public",
                                         "url": "http://dns.example/$(project_id)s",
                                         "region_id": "RegionOne"})
    entry = (await catalog())["dns"]
    assert entry["name"] == "designate"
    assert entry["endpoints"][0]["url"].startswith("http://dns.example/")
    assert entry["endpoints"][0]["region_id"] == "RegionOne"
    await cloud.client.patch(f"{V3}/endpoints/{ep['id']}", headers=admin,
                             json={"endpoint": {"url": "http://dns2.example"}})
    assert (await catalog())["dns"]["endpoints"][0]["url"] == "http://dns2.example"
    await cloud.client.patch(f"{V3}/services/{svc['id']}", headers=admin,
                             json={"service": {"enabled": False}})
    assert "dns" not in await catalog()
    await cloud.client.patch(f"{V3}/services/{svc['id']}", headers=admin,
                             json={"service": {"enabled": True}})
    await cloud.client.delete(f"{V3}/endpoints/{ep['id']}", headers=admin)
    assert (await catalog())["dns"]["endpoints"] == []


async def test_regions_readable_by_any_user_the_rest_admin_only(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = await make_project(cloud, "proj")
    user = await make_user(cloud, "kim")
    await cloud.client.put(f"{V3}/projects/{project}/users/{user}/roles/"
                           f"{await role_id(cloud, 'member')}", headers=admin)
    token = {"X-Auth-Token": await user_token(cloud, user, {"project": {"id": project}})}
    assert (await cloud.client.get(f"{V3}/regions", headers=token)).status_code == 200
    assert (await cloud.client.get(f"{V3}/regions/RegionOne", headers=token)).status_code == 200
    assert (await cloud.client.post(f"{V3}/regions", json={"region": {}},
                                    headers=token)).status_code == 403
    for path in ("services", "endpoints"):
        assert (await cloud.client.get(f"{V3}/{path}", headers=token)).status_code == 403
    assert (await cloud.client.post(f"{V3}/services", json={"service": {"type": "x"}},
                                    headers=token)).status_code == 403


async def test_tokens_issued_while_the_catalog_changes_never_fail(cloud: Cloud) -> None:
    """Writes bump the identity generation while tokens are being rendered; a token issued
    meanwhile carries the old or the new catalog, never a 500."""
    admin = await cloud.admin_headers()
    svc = await _post(cloud, "service", {"type": "dns"})
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "admin-secret-pw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}

    async def issue() -> int:
        return (await cloud.client.post(f"{V3}/auth/tokens", json=body)).status_code

    async def write(n: int) -> int:
        return (await cloud.client.post(f"{V3}/endpoints", headers=admin, json={"endpoint": {
            "service_id": svc["id"], "interface": "public", "url": f"http://dns{n}.example"}}
        )).status_code

    statuses = await asyncio.gather(*[issue() if n % 2 else write(n) for n in range(40)])
    assert set(statuses) <= {201}, statuses
    final = await cloud.client.post(f"{V3}/auth/tokens", json=body)
    dns = next(e for e in final.json()["token"]["catalog"] if e["type"] == "dns")
    assert len(dns["endpoints"]) == 20
