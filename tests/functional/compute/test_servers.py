"""The create flow end to end on fake hosts: API, conductor, scheduler with placement, agents."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.compute.states import PowerState
from nimbus.compute.virt.fake import FakeDriver
from nimbus.core.context import RequestContext
from tests.functional.compute.helpers import (
    HOSTS,
    V,
    boot,
    drivers,
    show,
    upload_image,
    usage,
    wait_for,
)
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, cloud_variants, running_cloud


@pytest.fixture(params=cloud_variants())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend, bus = request.param
    async with running_cloud(backend, tmp_path, fake_hosts=HOSTS, bus=bus) as running:
        yield running


async def test_boot_reaches_active_on_a_host_with_a_claim(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)

    server_id = await boot(cloud, admin, image)
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")

    assert server is not None and server["status"] == "ACTIVE", server
    host = server["OS-EXT-SRV-ATTR:host"]
    assert host in drivers(cloud)
    assert server_id in drivers(cloud)[host].guests
    assert server["OS-EXT-STS:power_state"] == 1 and server["OS-EXT-STS:task_state"] is None
    assert server["OS-SRV-USG:launched_at"] and server["hostId"]
    assert (await usage(cloud, admin))[host] == 1


async def _create_action(cloud: Cloud, headers: dict[str, str],
                         server_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The server's only action, `create`, and its (event, result) pairs."""
    actions = (await cloud.client.get(f"{V}/servers/{server_id}/os-instance-actions",
                                      headers=headers)).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["create"]
    detail = (await cloud.client.get(
        f"{V}/servers/{server_id}/os-instance-actions/{actions[0]['request_id']}",
        headers={**headers, "OpenStack-API-Version": "compute 2.62"})).json()["instanceAction"]
    return detail, [(e["event"], e["result"]) for e in detail["events"]]


async def test_boot_records_an_action_with_every_step(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin))
    await wait_for(cloud, admin, server_id, "ACTIVE")

    action, events = await _create_action(cloud, admin, server_id)
    assert events == [("conductor_schedule_and_build_instances", "Success"),
                      ("compute__do_build_and_run_instance", "Success")]
    assert action["message"] is None


async def test_no_host_big_enough_records_the_failed_scheduling(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    huge = await cloud.client.post(f"{V}/flavors", headers=admin, json={"flavor": {
        "name": "huge-disk", "ram": 512, "vcpus": 1, "disk": 10_000_000}})
    assert huge.status_code == 200, huge.text

    server_id = await boot(cloud, admin, await upload_image(cloud, admin),
                           flavorRef=huge.json()["flavor"]["id"])
    server = await wait_for(cloud, admin, server_id, "ERROR", "ACTIVE")

    assert server is not None and server["status"] == "ERROR"
    assert "No valid host" in server["fault"]["message"]
    action, events = await _create_action(cloud, admin, server_id)
    assert events == [("conductor_schedule_and_build_instances", "Error")]
    assert action["message"] == "Error"


async def test_spawn_failure_is_rescheduled_to_another_host(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    hosts = sorted(drivers(cloud))
    for host in hosts[:2]:
        drivers(cloud)[host].fail_next("spawn", RuntimeError(f"{host} is broken"))
    # Force the order: the broken hosts are the emptiest, so they are tried first.
    server_id = await boot(cloud, admin, image)
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")

    assert server is not None and server["status"] == "ACTIVE", server.get("fault")
    used = await usage(cloud, admin)
    assert sum(used.values()) == 1, used  # failed hosts gave their claims back
    assert used[server["OS-EXT-SRV-ATTR:host"]] == 1


async def test_build_failing_everywhere_ends_in_error_with_a_fault(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    for driver in drivers(cloud).values():
        driver.fail_next("spawn", RuntimeError("no hypervisor today"))

    server_id = await boot(cloud, admin, image)
    server = await wait_for(cloud, admin, server_id, "ERROR", "ACTIVE")

    assert server is not None and server["status"] == "ERROR"
    assert "Exceeded maximum number of retries" in server["fault"]["message"]
    assert server["fault"]["code"] == 500
    assert sum((await usage(cloud, admin)).values()) == 0


async def test_delete_during_build_leaves_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    for driver in drivers(cloud).values():
        driver.config = dataclasses.replace(driver.config, spawn_delay=0.3)

    server_id = await boot(cloud, admin, image)
    await wait_for(cloud, admin, server_id, "BUILD")
    for _ in range(100):  # until a host is chosen, so the delete goes through an agent
        server = await show(cloud, admin, server_id)
        if server and server["OS-EXT-STS:task_state"] == "spawning":
            break
        await asyncio.sleep(0.01)
    deleted = await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)
    assert deleted.status_code == 204

    assert await wait_for(cloud, admin, server_id, "DELETED") is None
    await asyncio.sleep(0.5)  # let the interrupted build notice and clean up
    assert all(server_id not in d.guests for d in drivers(cloud).values())
    assert sum((await usage(cloud, admin)).values()) == 0


async def test_delete_active_server(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin))
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None

    assert (await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)).status_code == 204
    assert await wait_for(cloud, admin, server_id, "DELETED") is None
    assert server_id not in drivers(cloud)[server["OS-EXT-SRV-ATTR:host"]].guests
    assert sum((await usage(cloud, admin)).values()) == 0


async def test_concurrent_creates_cannot_pass_the_quota(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    token = await member_token(cloud)
    member = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.79"}
    project_id = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})).json()["token"]["project"]["id"]
    cloud.services.compute.settings.compute.quotas.instances = 2
    try:
        body = {"server": {"name": "q", "imageRef": image, "flavorRef": "1", "networks": "none"}}
        results = await asyncio.gather(*(cloud.client.post(f"{V}/servers", json=body, headers=member)
                                         for _ in range(6)))
    finally:
        cloud.services.compute.settings.compute.quotas.instances = 10
    codes = sorted(r.status_code for r in results)
    assert codes.count(202) <= 2 and set(codes) <= {202, 403}, codes
    assert all("forbidden" in r.json() for r in results if r.status_code == 403)
    listed = await cloud.client.get(f"{V}/servers?all_tenants=1&project_id={project_id}",
                                    headers=admin)
    assert len(listed.json()["servers"]) == codes.count(202) <= 2


async def test_agent_restart_puts_interrupted_builds_in_error(cloud: Cloud) -> None:
    assert cloud.compute is not None
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    for driver in drivers(cloud).values():
        driver.config = dataclasses.replace(driver.config, spawn_delay=30)
    server_id = await boot(cloud, admin, image)
    for _ in range(300):
        server = await show(cloud, admin, server_id)
        if server and server["OS-EXT-STS:task_state"] == "spawning":
            break
        await asyncio.sleep(0.01)
    host = server["OS-EXT-SRV-ATTR:host"] if server else None
    assert host is not None
    agent, runner = cloud.compute.agents[host]

    # The agent dies mid-build (its handler is cancelled at once); it starts again on the same
    # host with a fresh hypervisor view.
    for server_ in runner.servers:
        server_.stop_timeout = 0.05  # type: ignore[attr-defined]
    await runner.stop()
    await agent.stop()
    agent.driver = FakeDriver(dataclasses.replace(drivers(cloud)[host].config, spawn_delay=0))
    await agent.start()

    server = await wait_for(cloud, admin, server_id, "ERROR")
    assert server is not None and "restarted" in server["fault"]["message"]
    assert sum((await usage(cloud, admin)).values()) == 0


async def test_other_projects_servers_are_not_found(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin))
    member = {"X-Auth-Token": await member_token(cloud)}

    shown = await cloud.client.get(f"{V}/servers/{server_id}", headers=member)
    deleted = await cloud.client.delete(f"{V}/servers/{server_id}", headers=member)
    listed = await cloud.client.get(f"{V}/servers", headers=member)

    assert shown.status_code == 404 and "itemNotFound" in shown.json()
    assert deleted.status_code == 404
    assert listed.json()["servers"] == []


async def test_bad_server_requests_are_400_and_write_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    headers = {**admin, "OpenStack-API-Version": "compute 2.79"}
    base = {"name": "bad", "imageRef": image, "flavorRef": "1", "networks": "none"}
    cases = [{"flavorRef": "nope"}, {"imageRef": "3f5b1c1e-0000-4000-8000-000000000000"},
             {"imageRef": "not-a-uuid"}, {"key_name": "missing"}, {"networks": None},
             {"min_count": 3, "max_count": 2}, {"name": ""}, {"bogus": 1},
             {"user_data": "#!/bin/sh not base64"}]
    for change in cases:
        body = {k: v for k, v in {**base, **change}.items() if v is not None}
        resp = await cloud.client.post(f"{V}/servers", json={"server": body}, headers=headers)
        assert resp.status_code in (400, 403), (change, resp.text)
    listed = await cloud.client.get(f"{V}/servers", headers=admin)
    assert listed.json()["servers"] == []
    member = {"X-Auth-Token": await member_token(cloud), "OpenStack-API-Version": "compute 2.79"}
    forced = await cloud.client.post(f"{V}/servers", headers=member, json={
        "server": {**base, "availability_zone": "nova:fake-1"}})
    assert forced.status_code == 403 and "forbidden" in forced.json()


async def test_admin_may_force_a_host(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await boot(cloud, admin, image, availability_zone="nova:fake-2")
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["OS-EXT-SRV-ATTR:host"] == "fake-2"


async def test_stop_start_and_conflicting_action(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin))
    await wait_for(cloud, admin, server_id, "ACTIVE")
    url = f"{V}/servers/{server_id}/action"

    assert (await cloud.client.post(url, json={"os-stop": None}, headers=admin)).status_code == 202
    await wait_for(cloud, admin, server_id, "SHUTOFF")
    again = await cloud.client.post(url, json={"os-stop": None}, headers=admin)
    assert again.status_code == 409 and "conflictingRequest" in again.json()
    assert (await cloud.client.post(url, json={"os-start": None}, headers=admin)).status_code == 202
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None and server["OS-EXT-STS:power_state"] == 1


async def test_power_sync_stops_an_active_server_whose_guest_is_off(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin))
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None and cloud.compute is not None
    host = server["OS-EXT-SRV-ATTR:host"]
    agent, _ = cloud.compute.agents[host]
    # As a QEMU killed from outside shows to the QEMU driver.
    drivers(cloud)[host].guests[server_id].power_state = PowerState.SHUTDOWN

    await agent.reconcile(RequestContext.admin())

    server = await show(cloud, admin, server_id)
    assert server is not None
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    resp = await cloud.client.post(f"{V}/servers/{server_id}/action", json={"os-start": None},
                                   headers=admin)
    assert resp.status_code == 202
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None and server["OS-EXT-STS:power_state"] == 1
