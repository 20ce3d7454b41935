"""os-availability-zone through /compute/v2.1: zones of the services, summary and detail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, server_body, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

URL = f"{V}/os-availability-zone"


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=2) as running:
        yield running


async def zone_host(cloud: Cloud, headers: dict[str, str], zone: str, host: str) -> None:
    """Put `host` in `zone`, as Nova does: an aggregate whose availability_zone is `zone`."""
    created = await cloud.client.post(f"{V}/os-aggregates", headers=headers, json={
        "aggregate": {"name": f"{zone}-hosts", "availability_zone": zone}})
    assert created.status_code == 200, created.text
    added = await cloud.client.post(
        f"{V}/os-aggregates/{created.json()['aggregate']['id']}/action", headers=headers,
        json={"add_host": {"host": host}})
    assert added.status_code == 200, added.text


async def test_summary_lists_compute_zones_for_anyone(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}

    resp = await cloud.client.get(URL, headers=member)

    assert resp.status_code == 200
    assert resp.json() == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}


async def test_detail_shows_hosts_and_services_for_admins(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}

    resp = await cloud.client.get(f"{URL}/detail", headers=admin)
    refused = await cloud.client.get(f"{URL}/detail", headers=member)

    assert resp.status_code == 200
    zones = {z["zoneName"]: z for z in resp.json()["availabilityZoneInfo"]}
    assert set(zones) == {"nova", "internal"}
    nova = zones["nova"]
    assert nova["zoneState"] == {"available": True}
    assert sorted(nova["hosts"]) == ["fake-1", "fake-2"]
    state = nova["hosts"]["fake-1"]["nova-compute"]
    assert state["available"] is True and state["active"] is True and state["updated_at"]
    internal_services = {b for host in zones["internal"]["hosts"].values() for b in host}
    assert internal_services == {"nova-conductor", "nova-scheduler"}
    assert refused.status_code == 403


async def test_zone_with_only_disabled_services_is_unavailable(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await zone_host(cloud, admin, "az2", "fake-2")
    await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                           json={"host": "fake-2", "binary": "nova-compute"})

    summary = (await cloud.client.get(URL, headers=admin)).json()["availabilityZoneInfo"]
    detail = (await cloud.client.get(f"{URL}/detail", headers=admin)).json()["availabilityZoneInfo"]

    assert summary == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None},
                       {"zoneName": "az2", "zoneState": {"available": False}, "hosts": None}]
    assert {"zoneName": "az2", "zoneState": {"available": False}, "hosts": None} in detail
    nova = next(z for z in detail if z["zoneName"] == "nova")
    assert list(nova["hosts"]) == ["fake-1"]


async def test_services_show_their_zone(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await zone_host(cloud, admin, "az2", "fake-2")

    services = (await cloud.client.get(f"{V}/os-services?binary=nova-compute",
                                       headers=admin)).json()["services"]

    assert {s["host"]: s["zone"] for s in services} == {"fake-1": "nova", "fake-2": "az2"}


async def test_boot_into_a_zone_without_enabled_services_is_refused(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    headers = {**admin, "OpenStack-API-Version": "compute 2.79"}
    image = await upload_image(cloud, admin)

    unknown = await cloud.client.post(f"{V}/servers", headers=headers,
                                      json=server_body(image, availability_zone="atlantis"))
    known = await cloud.client.post(f"{V}/servers", headers=headers,
                                    json=server_body(image, availability_zone="nova"))
    listed = await cloud.client.get(f"{V}/servers", headers=headers)

    assert unknown.status_code == 400
    assert unknown.json()["badRequest"]["message"] == \
        "The requested availability zone is not available"
    assert known.status_code == 202, known.text
    # Nothing of the refused request was written.
    assert [s["id"] for s in listed.json()["servers"]] == [known.json()["server"]["id"]]


async def test_forced_hosts_and_requested_destinations_are_checked_as_nova_does(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await zone_host(cloud, admin, "az2", "fake-2")
    image = await upload_image(cloud, admin)

    async def create(version: str, **extra: str) -> Any:
        return await cloud.client.post(f"{V}/servers", json=server_body(image, **extra), headers={
            **admin, "OpenStack-API-Version": f"compute {version}"})

    refused = {
        "four parts": await create("2.37", availability_zone="nova:fake-1:fake-1:x"),
        "unknown host": await create("2.74", host="nowhere"),
        "unknown node": await create("2.74", hypervisor_hostname="nowhere"),
        "node of another host": await create("2.74", host="fake-1", hypervisor_hostname="fake-2"),
        "both mechanisms": await create("2.74", host="fake-1", availability_zone="nova:fake-1"),
        "host and unknown zone": await create("2.74", host="fake-1", availability_zone="atlantis"),
    }
    listed = await cloud.client.get(f"{V}/servers", headers=admin)
    # A forced host outside the zone asked for boots there, in its own zone (Nova's bug
    # 1934770), even when that zone does not exist.
    forced = [await create("2.37", availability_zone=az)
              for az in ("nova:fake-2", "atlantis:fake-2", "az2:fake-2")]
    requested = await create("2.74", host="fake-1", hypervisor_hostname="fake-1")

    assert {case: r.status_code for case, r in refused.items()} == dict.fromkeys(refused, 400)
    message = {case: r.json()["badRequest"]["message"] for case, r in refused.items()}
    assert message["four parts"] == "Invalid input received: Unable to parse availability_zone"
    assert message["unknown host"] == "Compute host nowhere could not be found."
    assert message["unknown node"] == "Compute host nowhere could not be found."
    assert message["both mechanisms"].endswith("are mutually exclusive.")
    assert message["host and unknown zone"] == "The requested availability zone is not available"
    assert listed.json()["servers"] == []
    for created in [*forced, requested]:
        assert created.status_code == 202, created.text
        server = await wait_for(cloud, admin, created.json()["server"]["id"], "ACTIVE", "ERROR")
        assert server is not None and server["status"] == "ACTIVE", server
        host = server["OS-EXT-SRV-ATTR:host"]
        assert server["OS-EXT-AZ:availability_zone"] == {"fake-1": "nova", "fake-2": "az2"}[host]
    hosts = [(await cloud.client.get(f"{V}/servers/{c.json()['server']['id']}", headers=admin)
              ).json()["server"]["OS-EXT-SRV-ATTR:host"] for c in [*forced, requested]]
    assert hosts == ["fake-2", "fake-2", "fake-2", "fake-1"]


async def test_a_forced_host_skips_the_filters_a_requested_one_does_not(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    disabled = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                      json={"host": "fake-2", "binary": "nova-compute"})
    assert disabled.status_code == 200, disabled.text
    huge = await cloud.client.post(f"{V}/flavors", headers=admin, json={
        "flavor": {"name": "huge", "ram": 64, "vcpus": 1, "disk": 4096}})
    assert huge.status_code == 200, huge.text

    async def create(version: str, **extra: str) -> dict[str, Any]:
        created = await cloud.client.post(f"{V}/servers", json=server_body(image, **extra),
                                          headers={**admin,
                                                   "OpenStack-API-Version": f"compute {version}"})
        assert created.status_code == 202, created.text
        server = await wait_for(cloud, admin, created.json()["server"]["id"], "ACTIVE", "ERROR")
        assert server is not None
        return server

    # Nova's HostManager returns forced hosts and nodes without running a filter: the
    # ComputeFilter does not see that fake-2 is disabled.
    forced_host = await create("2.37", availability_zone="nova:fake-2")
    forced_node = await create("2.37", availability_zone="nova::fake-2")
    # 2.74's host and hypervisor_hostname only narrow the hosts the filters see.
    requested = await create("2.74", host="fake-2")
    # Placement must still have room on a forced host.
    too_big = await create("2.37", availability_zone="nova:fake-1",
                           flavorRef=huge.json()["flavor"]["id"])

    for server in (forced_host, forced_node):
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"] == "fake-2"
    assert requested["status"] == "ERROR"
    assert requested["fault"]["message"] == (
        "No valid host was found. There are not enough hosts available. "
        "Filter results: ComputeFilter (start: 1, end: 0).")
    assert too_big["status"] == "ERROR"
    assert too_big["fault"]["message"] == (
        "No valid host was found. There are not enough hosts available. "
        "Filter results: Forced destination fake-1 (start: 0, end: 0).")
