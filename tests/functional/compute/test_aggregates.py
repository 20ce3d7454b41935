"""os-aggregates through /compute/v2.1: CRUD, hosts mirrored into placement, zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

URL = f"{V}/os-aggregates"


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=2) as running:
        yield running


def mv(headers: dict[str, str], version: str) -> dict[str, str]:
    return {**headers, "OpenStack-API-Version": f"compute {version}"}


async def create(cloud: Cloud, headers: dict[str, str], name: str,
                 zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    resp = await cloud.client.post(URL, headers=headers, json={"aggregate": body})
    assert resp.status_code == 200, resp.text
    created: dict[str, Any] = resp.json()["aggregate"]
    return created


async def act(cloud: Cloud, headers: dict[str, str], agg_id: int, action: str,
              **args: Any) -> Any:
    return await cloud.client.post(f"{URL}/{agg_id}/action", headers=headers,
                                   json={action: args})


async def provider_aggregates(cloud: Cloud, headers: dict[str, str], host: str) -> list[str]:
    providers = (await cloud.client.get(f"/placement/resource_providers?name={host}",
                                        headers=headers)).json()["resource_providers"]
    resp = await cloud.client.get(
        f"/placement/resource_providers/{providers[0]['uuid']}/aggregates",
        headers={**headers, "OpenStack-API-Version": "placement 1.19"})
    found: list[str] = resp.json()["aggregates"]
    return found


async def test_create_show_list_update_delete(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    created = await create(cloud, admin, "rack1", "az1")
    shown = await cloud.client.get(f"{URL}/{created['id']}", headers=admin)
    shown_241 = await cloud.client.get(f"{URL}/{created['id']}", headers=mv(admin, "2.41"))
    renamed = await cloud.client.put(f"{URL}/{created['id']}", headers=mv(admin, "2.41"),
                                     json={"aggregate": {"name": "  rack-one "}})
    listed = await cloud.client.get(URL, headers=admin)
    deleted = await cloud.client.delete(f"{URL}/{created['id']}", headers=admin)
    gone = await cloud.client.get(f"{URL}/{created['id']}", headers=admin)

    assert set(created) == {"availability_zone", "created_at", "deleted", "deleted_at", "id",
                            "name", "updated_at"}
    assert (created["name"], created["availability_zone"], created["deleted"]) == (
        "rack1", "az1", False)
    body = shown.json()["aggregate"]
    assert (body["hosts"], body["metadata"]) == ([], {"availability_zone": "az1"})
    assert "uuid" not in body and len(shown_241.json()["aggregate"]["uuid"]) == 36
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["aggregate"]["name"] == "rack-one"
    assert renamed.json()["aggregate"]["updated_at"] is not None
    assert [a["name"] for a in listed.json()["aggregates"]] == ["rack-one"]
    assert deleted.status_code == 200 and deleted.content == b""
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == f"Aggregate {created['id']} could not be found."


async def test_bad_requests_are_refused_in_novas_words(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    agg = await create(cloud, admin, "rack1")

    duplicate = await cloud.client.post(URL, headers=admin, json={"aggregate": {"name": "rack1"}})
    padded = await cloud.client.post(URL, headers=admin, json={"aggregate": {"name": " x"}})
    colon = await cloud.client.post(URL, headers=admin, json={
        "aggregate": {"name": "x", "availability_zone": "a:b"}})
    extra = await cloud.client.post(URL, headers=admin, json={"aggregate": {"name": "x", "y": 1}})
    not_int = await cloud.client.get(f"{URL}/abc", headers=admin)
    huge = await cloud.client.get(f"{URL}/99999999999", headers=admin)
    empty_update = await cloud.client.put(f"{URL}/{agg['id']}", headers=admin,
                                          json={"aggregate": {}})
    null_zone = await cloud.client.put(f"{URL}/{agg['id']}", headers=admin,
                                       json={"aggregate": {"availability_zone": None}})
    unknown_action = await act(cloud, admin, agg["id"], "frobnicate", x=1)
    bad_host = await act(cloud, admin, agg["id"], "add_host", host="no such host")
    by_member = await cloud.client.get(URL, headers=member)

    assert duplicate.status_code == 409
    assert duplicate.json()["conflictingRequest"]["message"] == "Aggregate rack1 already exists."
    for refused in (padded, colon, extra, empty_update, unknown_action, bad_host):
        assert refused.status_code == 400, refused.text
        assert "badRequest" in refused.json()
    assert not_int.status_code == 400
    assert not_int.json()["badRequest"]["message"] == "Invalid input received: id must be an integer"
    assert huge.status_code == 404
    assert null_zone.status_code == 400
    assert null_zone.json()["badRequest"]["message"] == (
        f"Cannot update aggregate {agg['id']}. Reason: Aggregate rack1 does not support empty "
        "named availability zone.")
    assert unknown_action.json()["badRequest"]["message"] == "There is no such action: frobnicate"
    assert by_member.status_code == 403


async def test_hosts_are_added_and_removed_and_mirrored_into_placement(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    agg = await create(cloud, admin, "rack1")
    uuid = (await cloud.client.get(f"{URL}/{agg['id']}",
                                   headers=mv(admin, "2.41"))).json()["aggregate"]["uuid"]

    added = await act(cloud, admin, agg["id"], "add_host", host="fake-1")
    again = await act(cloud, admin, agg["id"], "add_host", host="fake-1")
    unknown = await act(cloud, admin, agg["id"], "add_host", host="fake-9")
    mirrored = await provider_aggregates(cloud, admin, "fake-1")
    refused_delete = await cloud.client.delete(f"{URL}/{agg['id']}", headers=admin)
    not_member = await act(cloud, admin, agg["id"], "remove_host", host="fake-2")
    removed = await act(cloud, admin, agg["id"], "remove_host", host="fake-1")
    unmirrored = await provider_aggregates(cloud, admin, "fake-1")

    assert added.status_code == 200, added.text
    assert added.json()["aggregate"]["hosts"] == ["fake-1"]
    assert again.status_code == 409
    assert again.json()["conflictingRequest"]["message"] == (
        f"Aggregate {agg['id']} already has host fake-1.")
    assert unknown.status_code == 404
    assert unknown.json()["itemNotFound"]["message"] == "Compute host fake-9 could not be found."
    assert mirrored == [uuid]
    assert refused_delete.status_code == 400
    assert refused_delete.json()["badRequest"]["message"] == (
        f"Cannot remove host from aggregate {agg['id']}. Reason: Host aggregate is not empty.")
    assert not_member.status_code == 404
    assert not_member.json()["itemNotFound"]["message"] == (
        f"Cannot remove host fake-2 in aggregate {agg['id']}")
    assert removed.status_code == 200 and removed.json()["aggregate"]["hosts"] == []
    assert unmirrored == []


async def test_set_metadata_sets_and_removes_keys(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    agg = await create(cloud, admin, "rack1")

    first = await act(cloud, admin, agg["id"], "set_metadata", metadata={"ssd": "true", "x": "1"})
    second = await act(cloud, admin, agg["id"], "set_metadata", metadata={"x": None, "y": "2"})

    assert first.status_code == 200, first.text
    assert first.json()["aggregate"]["metadata"] == {"ssd": "true", "x": "1"}
    assert second.json()["aggregate"]["metadata"] == {"ssd": "true", "y": "2"}


async def test_an_aggregates_zone_is_its_hosts_zone_for_zones_services_and_servers(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    agg = await create(cloud, admin, "rack1", "az1")
    await act(cloud, admin, agg["id"], "add_host", host="fake-1")
    image = await upload_image(cloud, admin)

    zones = (await cloud.client.get(f"{V}/os-availability-zone",
                                    headers=admin)).json()["availabilityZoneInfo"]
    services = (await cloud.client.get(f"{V}/os-services?binary=nova-compute",
                                       headers=admin)).json()["services"]
    in_az1 = await wait_for(cloud, admin, await boot(cloud, admin, image, availability_zone="az1"),
                            "ACTIVE", "ERROR")
    in_nova = await wait_for(cloud, admin, await boot(cloud, admin, image,
                                                      availability_zone="nova"), "ACTIVE", "ERROR")
    anywhere = await wait_for(cloud, admin, await boot(cloud, admin, image), "ACTIVE", "ERROR")

    assert sorted(z["zoneName"] for z in zones) == ["az1", "nova"]
    assert {s["host"]: s["zone"] for s in services} == {"fake-1": "az1", "fake-2": "nova"}
    assert in_az1 is not None and in_az1["OS-EXT-SRV-ATTR:host"] == "fake-1"
    assert in_az1["OS-EXT-AZ:availability_zone"] == "az1"
    assert in_nova is not None and in_nova["OS-EXT-SRV-ATTR:host"] == "fake-2"
    assert anywhere is not None and anywhere["OS-EXT-AZ:availability_zone"] == {
        "fake-1": "az1", "fake-2": "nova"}[anywhere["OS-EXT-SRV-ATTR:host"]]


async def test_zone_changes_that_would_move_hosts_or_instances_are_refused(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    az1 = await create(cloud, admin, "rack1", "az1")
    az2 = await create(cloud, admin, "rack2", "az2")
    plain = await create(cloud, admin, "ssd")
    await act(cloud, admin, az1["id"], "add_host", host="fake-1")
    image = await upload_image(cloud, admin)
    server = await wait_for(cloud, admin, await boot(cloud, admin, image,
                                                     availability_zone="nova"), "ACTIVE")
    assert server is not None and server["OS-EXT-SRV-ATTR:host"] == "fake-2"

    two_zones = await act(cloud, admin, az2["id"], "add_host", host="fake-1")
    same_zone_ok = await act(cloud, admin, plain["id"], "add_host", host="fake-1")
    moves_instances = await act(cloud, admin, az2["id"], "add_host", host="fake-2")
    plain_with_instances = await act(cloud, admin, plain["id"], "add_host", host="fake-2")
    rezone = await act(cloud, admin, plain["id"], "set_metadata",
                       metadata={"availability_zone": "az3"})

    assert two_zones.status_code == 409
    assert two_zones.json()["conflictingRequest"]["message"] == (
        f"Cannot add host to aggregate {az2['id']}. Reason: One or more hosts already in "
        "availability zone(s) ['az1'].")
    assert same_zone_ok.status_code == 200, same_zone_ok.text
    assert moves_instances.status_code == 409
    assert "would change from 'None' to 'az2'" in (
        moves_instances.json()["conflictingRequest"]["message"])
    assert plain_with_instances.status_code == 200, plain_with_instances.text
    assert rezone.status_code == 400
    assert rezone.json()["badRequest"]["message"].startswith(
        f"Cannot update metadata of aggregate {plain['id']}. Reason: One or more hosts already in")


async def test_deleting_a_compute_service_takes_its_host_out_of_aggregates(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    assert cloud.compute is not None
    agg = await create(cloud, admin, "rack1", "az1")
    await act(cloud, admin, agg["id"], "add_host", host="fake-2")
    _, runner = cloud.compute.agents["fake-2"]
    await runner.stop()  # as an operator would: nothing re-registers it meanwhile
    services = (await cloud.client.get(f"{V}/os-services?host=fake-2",
                                       headers=mv(admin, "2.53"))).json()["services"]

    deleted = await cloud.client.delete(f"{V}/os-services/{services[0]['id']}",
                                        headers=mv(admin, "2.53"))
    shown = await cloud.client.get(f"{URL}/{agg['id']}", headers=admin)
    removed = await cloud.client.delete(f"{URL}/{agg['id']}", headers=admin)

    assert deleted.status_code == 204, deleted.text
    assert shown.json()["aggregate"]["hosts"] == []
    assert removed.status_code == 200
