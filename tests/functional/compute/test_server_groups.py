"""os-server-groups through /compute/v2.1: policies by microversion, members, visibility."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, server_body, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

URL = f"{V}/os-server-groups"


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=2) as running:
        yield running


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def create(cloud: Cloud, headers: dict[str, str], version: str = "2.1",
                 **group: Any) -> Any:
    return await cloud.client.post(URL, headers={**headers, **mv(version)},
                                   json={"server_group": {"name": "g", **group}})


async def test_create_and_show_before_2_64(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    at_21 = await create(cloud, admin, policies=["anti-affinity"])
    at_213 = await create(cloud, admin, "2.13", policies=["affinity"])
    at_215 = await create(cloud, admin, "2.15", policies=["soft-anti-affinity"])
    shown = await cloud.client.get(f"{URL}/{at_21.json()['server_group']['id']}", headers=admin)

    assert at_21.status_code == 200, at_21.text
    body = at_21.json()["server_group"]
    assert set(body) == {"id", "name", "policies", "members", "metadata"}
    assert (body["policies"], body["members"], body["metadata"]) == (["anti-affinity"], [], {})
    assert set(at_213.json()["server_group"]) == {"id", "name", "policies", "members",
                                                  "metadata", "project_id", "user_id"}
    assert at_215.json()["server_group"]["policies"] == ["soft-anti-affinity"]
    assert shown.json()["server_group"] == body


async def test_create_with_policy_and_rules_from_2_64(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    spread = await create(cloud, admin, "2.64", policy="anti-affinity",
                          rules={"max_server_per_host": "2"})
    together = await create(cloud, admin, "2.64", policy="soft-affinity")
    old_view = await cloud.client.get(f"{URL}/{spread.json()['server_group']['id']}",
                                      headers={**admin, **mv("2.63")})

    assert spread.status_code == 200, spread.text
    body = spread.json()["server_group"]
    assert set(body) == {"id", "name", "policy", "rules", "members", "project_id", "user_id"}
    assert (body["policy"], body["rules"]) == ("anti-affinity", {"max_server_per_host": 2})
    assert together.json()["server_group"]["rules"] == {}
    assert old_view.json()["server_group"]["policies"] == ["anti-affinity"]


async def test_bad_groups_are_refused(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    cases = {
        "soft before 2.15": await create(cloud, admin, "2.14", policies=["soft-affinity"]),
        "two policies": await create(cloud, admin, policies=["affinity", "anti-affinity"]),
        "no policies": await create(cloud, admin, policies=[]),
        "unknown policy": await create(cloud, admin, policies=["spread"]),
        "policy before 2.64": await create(cloud, admin, "2.63", policy="affinity"),
        "policies from 2.64": await create(cloud, admin, "2.64", policies=["affinity"]),
        "rules for affinity": await create(cloud, admin, "2.64", policy="affinity",
                                           rules={"max_server_per_host": 2}),
        "zero per host": await create(cloud, admin, "2.64", policy="anti-affinity",
                                      rules={"max_server_per_host": 0}),
        "unknown rule": await create(cloud, admin, "2.64", policy="anti-affinity",
                                     rules={"spread": 2}),
        "blank name": await create(cloud, admin, name=" g", policies=["affinity"]),
        "long name": await create(cloud, admin, name="g" * 256, policies=["affinity"]),
        "extra key": await create(cloud, admin, policies=["affinity"], metadata={}),
    }
    no_group = await cloud.client.post(URL, headers=admin, json={"name": "g"})

    assert {name: r.status_code for name, r in cases.items()} == dict.fromkeys(cases, 400)
    assert cases["rules for affinity"].json()["badRequest"]["message"] == (
        "Only anti-affinity policy supports rules.")
    assert no_group.status_code == 400
    assert (await cloud.client.get(URL, headers=admin)).json() == {"server_groups": []}


async def test_members_are_the_live_servers_of_the_group(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    group = (await create(cloud, admin, policies=["anti-affinity"])).json()["server_group"]
    image = await upload_image(cloud, admin)
    ids, hosts = [], set()
    # One after the other: the scheduler places a group's member once the previous has a host.
    for name in ("a", "b"):
        resp = await cloud.client.post(f"{V}/servers", headers={**admin, **mv("2.37")}, json={
            **server_body(image, name=name), "os:scheduler_hints": {"group": group["id"]}})
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["server"]["id"])
        server = await wait_for(cloud, admin, ids[-1], "ACTIVE")
        assert server is not None
        hosts.add(server["OS-EXT-SRV-ATTR:host"])

    shown = (await cloud.client.get(f"{URL}/{group['id']}", headers=admin)).json()["server_group"]
    await cloud.client.delete(f"{V}/servers/{ids[0]}", headers=admin)
    await wait_for(cloud, admin, ids[0], "DELETED")
    after = (await cloud.client.get(f"{URL}/{group['id']}", headers=admin)).json()["server_group"]

    assert len(hosts) == 2
    assert sorted(shown["members"]) == sorted(ids)
    assert after["members"] == [ids[1]]


async def test_list_is_per_project_unless_an_admin_asks_for_all(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    mine = (await create(cloud, admin, policies=["affinity"])).json()["server_group"]
    theirs = (await create(cloud, member, policies=["affinity"])).json()["server_group"]

    admin_own = (await cloud.client.get(URL, headers=admin)).json()["server_groups"]
    admin_all = (await cloud.client.get(f"{URL}?all_projects=True", headers=admin)).json()
    member_all = (await cloud.client.get(f"{URL}?all_projects=True", headers=member)).json()
    member_show = await cloud.client.get(f"{URL}/{mine['id']}", headers=member)
    member_delete = await cloud.client.delete(f"{URL}/{mine['id']}", headers=member)

    assert [g["id"] for g in admin_own] == [mine["id"]]
    assert {g["id"] for g in admin_all["server_groups"]} == {mine["id"], theirs["id"]}
    assert [g["id"] for g in member_all["server_groups"]] == [theirs["id"]]
    assert member_show.status_code == member_delete.status_code == 403


async def test_list_pages_with_limit_and_offset(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    ids = [(await create(cloud, admin, name=f"g{i}", policies=["affinity"])).json()[
        "server_group"]["id"] for i in range(3)]

    page = (await cloud.client.get(f"{URL}?limit=2", headers=admin)).json()["server_groups"]
    rest = (await cloud.client.get(f"{URL}?limit=2&offset=2", headers=admin)).json()
    bad = await cloud.client.get(f"{URL}?offset=-1", headers=admin)
    strict = await cloud.client.get(f"{URL}?foo=1", headers={**admin, **mv("2.75")})
    lax = await cloud.client.get(f"{URL}?foo=1", headers={**admin, **mv("2.74")})

    assert [g["id"] for g in page] == ids[:2]
    assert [g["id"] for g in rest["server_groups"]] == ids[2:]
    assert bad.status_code == strict.status_code == 400
    assert lax.status_code == 200


async def test_delete_and_unknown_groups(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    group = (await create(cloud, admin, policies=["affinity"])).json()["server_group"]
    missing = str(uuid.uuid4())

    deleted = await cloud.client.delete(f"{URL}/{group['id']}", headers=admin)
    again = await cloud.client.delete(f"{URL}/{group['id']}", headers=admin)
    shown = await cloud.client.get(f"{URL}/{missing}", headers=admin)
    boot_into_deleted = await cloud.client.post(
        f"{V}/servers", headers={**admin, **mv("2.37")},
        json={**server_body(await upload_image(cloud, admin)),
              "os:scheduler_hints": {"group": group["id"]}})

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert shown.json() == {"itemNotFound": {
        "code": 404, "message": f"Instance group {missing} could not be found."}}
    assert boot_into_deleted.status_code == 400
