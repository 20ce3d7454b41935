"""Flavors, extra specs and access lists through /compute/v2.1 (Nova's contract)."""

from __future__ import annotations

from typing import Any

from tests.functional.compute.users import member_token as _member_token
from tests.functional.conftest import Cloud

V = "/compute/v2.1"


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def create(cloud: Cloud, headers: dict[str, str], **flavor: Any) -> Any:
    body = {"name": "f1", "ram": 256, "vcpus": 1, "disk": 1, **flavor}
    return await cloud.client.post(f"{V}/flavors", json={"flavor": body}, headers=headers)


async def test_bootstrap_flavors_are_listed_sorted_by_flavorid(cloud: Cloud) -> None:
    resp = await cloud.client.get(f"{V}/flavors/detail", headers=await cloud.admin_headers())

    assert resp.status_code == 200
    flavors = {f["name"]: f for f in resp.json()["flavors"]}
    assert {"m1.nano", "m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"} <= set(flavors)
    tiny = flavors["m1.tiny"]
    assert (tiny["id"], tiny["ram"], tiny["vcpus"], tiny["disk"]) == ("1", 512, 1, 1)
    assert tiny["swap"] == "" and tiny["os-flavor-access:is_public"] is True
    assert tiny["links"][0]["href"] == "http://nimbus.test/compute/v2.1/flavors/1"
    assert [f["id"] for f in resp.json()["flavors"]] == sorted(f["id"] for f in resp.json()["flavors"])


async def test_microversion_is_echoed_and_changes_shapes(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), **mv("2.75")}
    resp = await cloud.client.get(f"{V}/flavors/1", headers=headers)

    assert resp.headers["OpenStack-API-Version"] == "compute 2.75"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.75"
    assert "OpenStack-API-Version" in resp.headers["Vary"]
    flavor = resp.json()["flavor"]
    assert flavor["swap"] == 0 and flavor["extra_specs"] == {} and "description" in flavor


async def test_legacy_nova_header_asks_for_a_version_too(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    legacy = await cloud.client.get(f"{V}/flavors/1", headers={
        **admin, "X-OpenStack-Nova-API-Version": "2.55"})
    none = await cloud.client.get(f"{V}/flavors/1", headers=admin)

    assert legacy.headers["OpenStack-API-Version"] == "compute 2.55"
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.55"
    assert legacy.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    assert "description" in legacy.json()["flavor"]
    assert none.headers["OpenStack-API-Version"] == "compute 2.1"
    assert "description" not in none.json()["flavor"]


async def test_unsupported_microversion_is_406_and_garbage_is_400(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    too_new = await cloud.client.get(f"{V}/flavors", headers={**admin, **mv("2.999")})
    garbage = await cloud.client.get(f"{V}/flavors", headers={**admin, **mv("two")})

    assert too_new.status_code == 406
    assert garbage.status_code == 400 and "badRequest" in garbage.json()


async def test_create_show_update_delete_flavor(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), **mv("2.55")}
    resp = await create(cloud, headers, id="custom-1", description="first", swap=128,
                        **{"OS-FLV-EXT-DATA:ephemeral": 2})
    assert resp.status_code == 200, resp.text
    assert resp.json()["flavor"]["OS-FLV-EXT-DATA:ephemeral"] == 2

    updated = await cloud.client.put(f"{V}/flavors/custom-1", headers=headers,
                                     json={"flavor": {"description": "second"}})
    assert updated.status_code == 200
    assert updated.json()["flavor"]["description"] == "second"

    assert (await cloud.client.delete(f"{V}/flavors/custom-1", headers=headers)).status_code == 202
    gone = await cloud.client.get(f"{V}/flavors/custom-1", headers=headers)
    assert gone.status_code == 404
    assert gone.json() == {"itemNotFound": {"code": 404,
                                            "message": "Flavor custom-1 could not be found."}}


async def test_duplicate_flavor_name_or_id_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    assert (await create(cloud, headers, id="dup")).status_code == 200

    by_name = await create(cloud, headers)
    by_id = await create(cloud, headers, name="other", id="dup")

    assert by_name.status_code == 409 and "conflictingRequest" in by_name.json()
    assert by_id.status_code == 409


async def test_flavor_id_may_be_a_json_number_and_reads_back_as_text(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()

    created = await create(cloud, headers, id=7001, ram="512")
    shown = await cloud.client.get(f"{V}/flavors/7001", headers=headers)
    flagged = await create(cloud, headers, name="f2", id=True)

    assert created.status_code == 200 and created.json()["flavor"]["id"] == "7001"
    assert created.json()["flavor"]["ram"] == 512
    assert shown.status_code == 200 and shown.json()["flavor"]["name"] == "f1"
    assert flagged.status_code == 400


async def test_bad_flavor_bodies_are_400_without_a_row(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    for bad in ({"ram": 0}, {"vcpus": "many"}, {"name": " padded "}, {"id": "bad/id"},
                {"unknown": 1}, {"description": "needs 2.55"}):
        resp = await create(cloud, headers, **bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert "badRequest" in resp.json()
    listed = await cloud.client.get(f"{V}/flavors?is_public=none", headers=headers)
    assert "f1" not in {f["name"] for f in listed.json()["flavors"]}


async def test_non_admin_cannot_create_and_does_not_see_private_flavors(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    assert (await create(cloud, admin, id="private-1",
                         **{"os-flavor-access:is_public": False})).status_code == 200
    member = {"X-Auth-Token": await _member_token(cloud)}

    forbidden = await create(cloud, member, name="mine")
    hidden = await cloud.client.get(f"{V}/flavors/private-1", headers=member)
    listed = await cloud.client.get(f"{V}/flavors", headers=member)

    assert forbidden.status_code == 403 and "forbidden" in forbidden.json()
    assert hidden.status_code == 404
    assert "private-1" not in {f["id"] for f in listed.json()["flavors"]}


async def test_flavor_access_shares_a_private_flavor(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await create(cloud, admin, id="private-2", **{"os-flavor-access:is_public": False})
    member_token = await _member_token(cloud)
    project_id = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": member_token, "X-Subject-Token": member_token})).json()["token"]["project"]["id"]

    added = await cloud.client.post(f"{V}/flavors/private-2/action", headers=admin,
                                    json={"addTenantAccess": {"tenant": project_id}})
    again = await cloud.client.post(f"{V}/flavors/private-2/action", headers=admin,
                                    json={"addTenantAccess": {"tenant": project_id}})
    seen = await cloud.client.get(f"{V}/flavors/private-2", headers={"X-Auth-Token": member_token})
    public = await cloud.client.get(f"{V}/flavors/1/os-flavor-access", headers=admin)

    assert added.json() == {"flavor_access": [{"flavor_id": "private-2", "tenant_id": project_id}]}
    assert again.status_code == 409
    assert seen.status_code == 200
    assert public.status_code == 404
    removed = await cloud.client.post(f"{V}/flavors/private-2/action", headers=admin,
                                      json={"removeTenantAccess": {"tenant": project_id}})
    assert removed.json() == {"flavor_access": []}


async def test_extra_specs_crud(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    url = f"{V}/flavors/1/os-extra_specs"

    created = await cloud.client.post(url, headers=headers,
                                      json={"extra_specs": {"hw:cpu_policy": "dedicated", "k": 1}})
    one = await cloud.client.put(f"{url}/k", headers=headers, json={"k": "2"})
    mismatch = await cloud.client.put(f"{url}/k", headers=headers, json={"other": "2"})
    shown = await cloud.client.get(f"{url}/k", headers=headers)
    deleted = await cloud.client.delete(f"{url}/hw:cpu_policy", headers=headers)
    missing = await cloud.client.get(f"{url}/hw:cpu_policy", headers=headers)

    assert created.json() == {"extra_specs": {"hw:cpu_policy": "dedicated", "k": "1"}}
    assert one.json() == {"k": "2"}
    assert mismatch.status_code == 400
    assert shown.json() == {"k": "2"}
    assert deleted.status_code == 200
    assert missing.status_code == 404
    assert (await cloud.client.get(url, headers=headers)).json() == {"extra_specs": {"k": "2"}}


async def test_flavor_list_filters_and_paginates(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    big = await cloud.client.get(f"{V}/flavors/detail?minRam=4096&minDisk=40", headers=headers)
    page = await cloud.client.get(f"{V}/flavors?limit=2&marker=1", headers=headers)
    bad = await cloud.client.get(f"{V}/flavors?minRam=lots", headers=headers)

    assert {f["name"] for f in big.json()["flavors"]} == {"m1.medium", "m1.large", "m1.xlarge"}
    assert [f["id"] for f in page.json()["flavors"]] == ["2", "3"]
    assert "marker=3" in page.json()["flavors_links"][0]["href"]
    assert bad.status_code == 400

