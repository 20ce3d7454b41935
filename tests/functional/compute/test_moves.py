"""Moving servers between fake hosts: resize with confirm and revert, cold and live migration,
evacuation, os-migrations; placement must hold exactly what each step says, no more."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from nimbus.compute.models import ComputeNodeRow
from nimbus.compute.virt.fake import FakeDriver
from nimbus.core.config import ComputeSettings
from tests.dbs import backends
from tests.functional.compute.helpers import V, wait_for
from tests.functional.compute.moves import (
    action,
    active_server,
    force_down,
    migrations_of,
    mv,
    running_live_migration,
    server_with_volume,
    slow_live_migrations,
    wait_migration,
)
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud
from tests.functional.volume import helpers as vol

TINY = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
SMALL = {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=3) as running:
        yield running


async def allocations(cloud: Cloud, headers: dict[str, str], consumer: str) -> dict[str, Any]:
    resp = await cloud.client.get(f"/placement/allocations/{consumer}", headers=headers)
    assert resp.status_code == 200, resp.text
    return {rp: a["resources"] for rp, a in resp.json()["allocations"].items()}


async def provider(cloud: Cloud, headers: dict[str, str], host: str) -> str:
    resp = await cloud.client.get(f"/placement/resource_providers?name={host}", headers=headers)
    uuid: str = resp.json()["resource_providers"][0]["uuid"]
    return uuid


async def test_resize_then_confirm_frees_the_source(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]

    resized = await action(cloud, admin, sid, {"resize": {"flavorRef": "2"}})
    assert resized.status_code == 202, resized.text
    shown = await wait_for(cloud, admin, sid, "VERIFY_RESIZE", "ERROR", "ACTIVE")

    assert shown is not None and shown["status"] == "VERIFY_RESIZE", shown
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source
    assert shown["flavor"]["original_name"] == "m1.small"
    migration = (await migrations_of(cloud, admin, sid))[0]
    assert migration["status"] == "finished"
    assert migration["migration_type"] == "resize"
    assert (migration["source_compute"], migration["dest_compute"]) == (source, dest)
    assert migration["old_instance_type_id"] != migration["new_instance_type_id"]
    # The migration holds the source, the instance the destination, with the new flavor.
    assert await allocations(cloud, admin, migration["uuid"]) == {
        await provider(cloud, admin, source): TINY}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, dest): SMALL}

    confirmed = await action(cloud, admin, sid, {"confirmResize": None})
    assert confirmed.status_code == 204, confirmed.text
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert done is not None and done["status"] == "ACTIVE"
    assert done["OS-EXT-SRV-ATTR:host"] == dest
    assert (await wait_migration(cloud, admin, sid, "confirmed"))["status"] == "confirmed"
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, dest): SMALL}
    assert cloud.compute is not None
    source_driver = cloud.compute.agents[source][0].driver
    assert isinstance(source_driver, FakeDriver) and sid not in source_driver.guests


async def test_resize_revert_goes_back_to_the_source(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    assert (await action(cloud, admin, sid, {"resize": {"flavorRef": "2"}})).status_code == 202
    await wait_for(cloud, admin, sid, "VERIFY_RESIZE")
    migration = (await migrations_of(cloud, admin, sid))[0]

    reverted = await action(cloud, admin, sid, {"revertResize": None})
    assert reverted.status_code == 202, reverted.text
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert done is not None and done["status"] == "ACTIVE"
    assert done["OS-EXT-SRV-ATTR:host"] == source
    assert done["flavor"]["original_name"] == "m1.tiny"
    assert (await wait_migration(cloud, admin, sid, "reverted"))["status"] == "reverted"
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, source): TINY}
    assert cloud.compute is not None
    dest_driver = cloud.compute.agents[migration["dest_compute"]][0].driver
    assert isinstance(dest_driver, FakeDriver) and sid not in dest_driver.guests


async def test_deleting_a_server_in_verify_resize_confirms_it_first(cloud: Cloud) -> None:
    """As Nova: the source drops the guest it kept for a revert, and nothing stays allocated."""
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    assert (await action(cloud, admin, sid, {"resize": {"flavorRef": "2"}})).status_code == 202
    await wait_for(cloud, admin, sid, "VERIFY_RESIZE")
    migration = (await migrations_of(cloud, admin, sid))[0]
    assert cloud.compute is not None
    source_driver = cloud.compute.agents[source][0].driver
    assert isinstance(source_driver, FakeDriver) and sid in source_driver.kept

    deleted = await cloud.client.delete(f"{V}/servers/{sid}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    await wait_for(cloud, admin, sid, "DELETED")
    for _ in range(500):
        if sid not in source_driver.kept:
            break
        await asyncio.sleep(0.02)
    assert sid not in source_driver.kept and sid not in source_driver.guests
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {}


async def test_resize_refuses_bad_requests_and_wrong_states(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid = (await active_server(cloud, admin))["id"]

    same = await action(cloud, admin, sid, {"resize": {"flavorRef": "1"}})
    unknown = await action(cloud, admin, sid, {"resize": {"flavorRef": "nope"}})
    missing = await action(cloud, admin, sid, {"resize": {}})
    extra = await action(cloud, admin, sid, {"resize": {"flavorRef": "2", "x": 1}})
    not_resized = await action(cloud, admin, sid, {"confirmResize": None})
    not_resized_revert = await action(cloud, admin, sid, {"revertResize": None})

    assert same.status_code == 400
    assert same.json()["badRequest"]["message"] == "When resizing, instances must change flavor!"
    assert unknown.status_code == missing.status_code == extra.status_code == 400
    assert not_resized.status_code == not_resized_revert.status_code == 409
    assert (await action(cloud, admin, sid, {"resize": {"flavorRef": "2"}})).status_code == 202
    await wait_for(cloud, admin, sid, "VERIFY_RESIZE")
    again = await action(cloud, admin, sid, {"resize": {"flavorRef": "3"}})
    live = await action(cloud, admin, sid, {"os-migrateLive": {"host": None,
                                                                "block_migration": "auto"}})
    assert again.status_code == live.status_code == 409
    assert (await action(cloud, admin, sid, {"confirmResize": None})).status_code == 204


async def test_resize_without_a_host_fails_back_and_keeps_the_allocation(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    huge = await cloud.client.post(f"{V}/flavors", headers=admin, json={"flavor": {
        "name": "huge", "ram": 40000, "vcpus": 1, "disk": 1, "id": "huge"}})
    assert huge.status_code == 200, huge.text
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]

    assert (await action(cloud, admin, sid, {"resize": {"flavorRef": "huge"}})).status_code == 202
    migration = await wait_migration(cloud, admin, sid, "error")
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert done is not None and done["status"] == "ACTIVE"
    assert done["flavor"]["original_name"] == "m1.tiny"
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, source): TINY}
    events = await cloud.client.get(f"{V}/servers/{sid}/os-instance-actions", headers=admin)
    assert events.json()["instanceActions"][0]["action"] == "resize"
    assert events.json()["instanceActions"][0]["message"] == "Error"


async def test_cold_migrate_to_a_named_host_at_2_56(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    target = next(h for h in ("fake-1", "fake-2", "fake-3") if h != source)

    bad = await action(cloud, admin, sid, {"migrate": {"host": target, "x": 1}}, "2.56")
    same = await action(cloud, admin, sid, {"migrate": {"host": source}}, "2.56")
    nowhere = await action(cloud, admin, sid, {"migrate": {"host": "no-such"}}, "2.56")
    member = await action(cloud, {"X-Auth-Token": await member_token(cloud)}, sid,
                          {"migrate": None})
    assert bad.status_code == same.status_code == nowhere.status_code == 400
    assert member.status_code == 404  # another project's server

    moved = await action(cloud, admin, sid, {"migrate": {"host": target}}, "2.56")
    assert moved.status_code == 202, moved.text
    shown = await wait_for(cloud, admin, sid, "VERIFY_RESIZE", "ERROR", "ACTIVE")
    assert shown is not None and shown["status"] == "VERIFY_RESIZE"
    assert shown["OS-EXT-SRV-ATTR:host"] == target
    migration = (await migrations_of(cloud, admin, sid))[0]
    assert migration["migration_type"] == "migration"
    assert migration["old_instance_type_id"] == migration["new_instance_type_id"]
    assert (await action(cloud, admin, sid, {"confirmResize": None})).status_code == 204
    await wait_migration(cloud, admin, sid, "confirmed")
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, target): TINY}


async def test_live_migration_moves_the_running_guest(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]

    old_body = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto"}}, "2.24")
    forced_late = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto", "force": False}}, "2.68")
    assert old_body.status_code == forced_late.status_code == 400

    moved = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto", "force": False}}, "2.30")
    assert moved.status_code == 202, moved.text
    migration = await wait_migration(cloud, admin, sid, "completed", "failed", "error")
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert migration["status"] == "completed"
    assert migration["migration_type"] == "live-migration"
    assert shown is not None and shown["status"] == "ACTIVE"
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source and dest == migration["dest_compute"]
    assert shown["OS-EXT-STS:power_state"] == 1
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, dest): TINY}
    assert cloud.compute is not None
    arrived, left = cloud.compute.agents[dest][0].driver, cloud.compute.agents[source][0].driver
    assert isinstance(arrived, FakeDriver) and sid in arrived.guests
    assert isinstance(left, FakeDriver) and sid not in left.guests


async def test_live_migration_without_block_migration_needs_shared_storage(
        cloud: Cloud) -> None:
    """Nova's pre-check at the source refuses block_migration false where the hosts share no
    storage: before 2.34 as a 400 with nothing changed, from 2.34 as a migration in error."""
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    held = await allocations(cloud, admin, sid)

    legacy = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": False, "disk_over_commit": False}}, "2.1")
    refused = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": False}}, "2.33")

    for resp in (legacy, refused):
        assert resp.status_code == 400, resp.text
        assert resp.json()["badRequest"]["message"] == (
            f"{source} is not on shared storage: Shared storage live-migration requires either "
            "shared storage or boot-from-volume with no local disks.")
    assert await migrations_of(cloud, admin, sid) == []
    shown = await wait_for(cloud, admin, sid, "ACTIVE")
    assert shown is not None and shown["OS-EXT-STS:task_state"] is None

    later = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": False}}, "2.34")
    assert later.status_code == 202, later.text
    migration = await wait_migration(cloud, admin, sid, "completed", "error")
    assert migration["status"] == "error"
    shown = await wait_for(cloud, admin, sid, "ACTIVE")
    assert shown is not None and shown["OS-EXT-STS:task_state"] is None
    assert shown["OS-EXT-SRV-ATTR:host"] == source
    assert await allocations(cloud, admin, sid) == held
    assert await allocations(cloud, admin, migration["uuid"]) == {}

    # Hosts that share storage move the guest's memory only.
    assert cloud.compute is not None
    for agent, _ in cloud.compute.agents.values():
        assert isinstance(agent.driver, FakeDriver)
        agent.driver.config = dataclasses.replace(agent.driver.config, shared_storage=True)
    moved = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": False}}, "2.25")
    assert moved.status_code == 202, moved.text
    assert (await wait_migration(cloud, admin, sid, "completed", "error"))["status"] == \
        "completed"
    assert [m["status"] for m in await migrations_of(cloud, admin, sid)] == ["completed", "error"]


async def test_live_migration_takes_the_attached_volume_along(tmp_path: Path) -> None:
    """The destination connects the server's volumes for itself before the guest arrives (a
    QEMU destination must open them on its command line)."""
    async with running_cloud(backends()[0], tmp_path, fake_hosts=2, volume_hosts=1) as cloud:
        admin = await cloud.admin_headers()
        sid, source, volume_id = await server_with_volume(cloud, admin)

        moved = await action(cloud, admin, sid, {"os-migrateLive": {
            "host": None, "block_migration": "auto"}})
        assert moved.status_code == 202, moved.text
        migration = await wait_migration(cloud, admin, sid, "completed", "failed", "error")
        assert migration["status"] == "completed"
        assert cloud.compute is not None
        dest = migration["dest_compute"]
        assert dest != source
        [(arrived, _)] = [a for h, a in cloud.compute.agents.items() if h == dest]
        assert isinstance(arrived.driver, FakeDriver)
        plugged = arrived.driver.guests[sid].volumes[volume_id]
        assert plugged.path == vol.volume_file(cloud, volume_id).resolve()
        shown = await vol.show(cloud, admin, "volume", volume_id)
        assert shown is not None and shown["status"] == "in-use"


async def test_live_migration_abort_keeps_the_server_at_the_source(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    slow_live_migrations(cloud)
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    running = await running_live_migration(cloud, admin, sid)
    url = f"{V}/servers/{sid}/migrations/{running['id']}"

    too_early = await cloud.client.delete(url, headers={**admin, **mv("2.23")})
    aborted = await cloud.client.delete(url, headers={**admin, **mv("2.24")})

    assert too_early.status_code == 404
    assert aborted.status_code == 202, aborted.text
    migration = await wait_migration(cloud, admin, sid, "cancelled", "failed")
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")
    assert migration["status"] == "cancelled"
    assert shown is not None and shown["OS-EXT-SRV-ATTR:host"] == source
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, source): TINY}
    gone = await cloud.client.get(url, headers={**admin, **mv("2.23")})
    assert gone.status_code == 404


async def test_live_migration_force_complete_from_2_22(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    slow_live_migrations(cloud)
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    running = await running_live_migration(cloud, admin, sid)
    url = f"{V}/servers/{sid}/migrations/{running['id']}/action"

    early = await cloud.client.post(url, json={"force_complete": None},
                                    headers={**admin, **mv("2.21")})
    forced = await cloud.client.post(url, json={"force_complete": None},
                                     headers={**admin, **mv("2.22")})

    assert early.status_code == 404
    assert forced.status_code == 202, forced.text
    migration = await wait_migration(cloud, admin, sid, "completed", "failed")
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")
    assert shown is not None and shown["OS-EXT-SRV-ATTR:host"] not in (source, None)
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    again = await cloud.client.post(url, json={"force_complete": None},
                                    headers={**admin, **mv("2.22")})
    assert again.status_code == 409


async def test_evacuate_rebuilds_elsewhere_and_the_source_cleans_up(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]

    still_up = await action(cloud, admin, sid, {"evacuate": {}}, "2.14")
    assert still_up.status_code == 400
    assert still_up.json()["badRequest"]["message"] == \
        f"Compute service of {source} is still in use."
    assert cloud.compute is not None
    agent, runner = cloud.compute.agents[source]
    await runner.stop()  # the host is gone, as far as the cloud can tell
    service_id = await force_down(cloud, admin, source, True)
    needs_flag = await action(cloud, admin, sid, {"evacuate": {}}, "2.13")
    shared_pass = await action(cloud, admin, sid, {"evacuate": {
        "onSharedStorage": True, "adminPass": "x"}}, "2.13")
    assert needs_flag.status_code == shared_pass.status_code == 400

    evacuated = await action(cloud, admin, sid, {"evacuate": {"onSharedStorage": False}}, "2.13")
    assert evacuated.status_code == 200, evacuated.text
    assert evacuated.json()["adminPass"]
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")
    migration = await wait_migration(cloud, admin, sid, "done", "error", "failed")

    assert shown is not None and shown["status"] == "ACTIVE"
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source and migration["migration_type"] == "evacuation"
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, dest): TINY}
    # The source still holds the old guest; it removes it when it comes back.
    assert isinstance(agent.driver, FakeDriver) and sid in agent.driver.guests
    await force_down(cloud, admin, source, False)
    await agent.start()
    await runner.start()
    assert sid not in agent.driver.guests
    assert (await wait_migration(cloud, admin, sid, "completed"))["status"] == "completed"
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    # Nothing is left on the host: its service may go.
    await runner.stop()
    deleted = await cloud.client.delete(f"{V}/os-services/{service_id}",
                                        headers={**admin, **mv("2.53")})
    assert deleted.status_code == 204, deleted.text


async def test_os_migrations_fields_follow_the_microversion(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sids = [(await active_server(cloud, admin))["id"] for _ in range(2)]
    for sid in sids:
        assert (await action(cloud, admin, sid, {"migrate": None})).status_code == 202
        await wait_for(cloud, admin, sid, "VERIFY_RESIZE")

    old = await cloud.client.get(f"{V}/os-migrations", headers=admin)
    v23 = await cloud.client.get(f"{V}/os-migrations", headers={**admin, **mv("2.23")})
    page = await cloud.client.get(f"{V}/os-migrations?limit=1", headers={**admin, **mv("2.59")})
    bad_marker = await cloud.client.get(f"{V}/os-migrations?marker=nope",
                                        headers={**admin, **mv("2.59")})
    member = await cloud.client.get(f"{V}/os-migrations",
                                    headers={"X-Auth-Token": await member_token(cloud)})

    assert old.status_code == 200
    assert {"migration_type", "uuid"} & set(old.json()["migrations"][0]) == set()
    assert v23.json()["migrations"][0]["migration_type"] == "migration"
    assert "uuid" not in v23.json()["migrations"][0]
    [newest] = page.json()["migrations"]
    assert newest["instance_uuid"] == sids[1]
    assert "marker=" + newest["uuid"] in page.json()["migrations_links"][0]["href"]
    following = await cloud.client.get(f"{V}/os-migrations?limit=1&marker={newest['uuid']}",
                                       headers={**admin, **mv("2.59")})
    assert following.json()["migrations"][0]["instance_uuid"] == sids[0]
    assert bad_marker.status_code == 400
    assert member.status_code == 403


async def test_resize_to_the_same_host_and_auto_confirm(tmp_path: Path) -> None:
    settings = ComputeSettings(allow_resize_to_same_host=True, resize_confirm_window=1.0)
    async with running_cloud("sqlite", tmp_path, fake_hosts=1,
                             compute_settings=settings) as cloud:
        admin = await cloud.admin_headers()
        server = await active_server(cloud, admin)
        sid = server["id"]
        assert (await action(cloud, admin, sid, {"resize": {"flavorRef": "2"}})).status_code \
            == 202

        migration = await wait_migration(cloud, admin, sid, "confirmed", "error")
        done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

        assert migration["source_compute"] == migration["dest_compute"] == "fake-1"
        assert done is not None and done["flavor"]["original_name"] == "m1.small"
        rp = await provider(cloud, admin, "fake-1")
        assert await allocations(cloud, admin, migration["uuid"]) == {}
        assert await allocations(cloud, admin, sid) == {rp: SMALL}
        assert cloud.compute is not None
        driver = cloud.compute.agents["fake-1"][0].driver
        assert isinstance(driver, FakeDriver) and driver.guests[sid].spec.memory_mb == 2048


async def test_deleting_a_host_that_never_came_back_ends_its_evacuations(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    assert cloud.compute is not None
    await cloud.compute.agents[source][1].stop()
    service_id = await force_down(cloud, admin, source, True)
    assert (await action(cloud, admin, sid, {"evacuate": {}}, "2.14")).status_code == 200
    migration = await wait_migration(cloud, admin, sid, "done")
    rp = await provider(cloud, admin, source)
    assert await allocations(cloud, admin, migration["uuid"]) == {rp: TINY}

    deleted = await cloud.client.delete(f"{V}/os-services/{service_id}",
                                        headers={**admin, **mv("2.53")})

    assert deleted.status_code == 204, deleted.text
    assert (await migrations_of(cloud, admin, sid))[0]["status"] == "completed"
    assert await allocations(cloud, admin, migration["uuid"]) == {}
    gone = await cloud.client.get(f"/placement/resource_providers/{rp}", headers=admin)
    assert gone.status_code == 404


async def test_a_host_with_a_resize_to_confirm_cannot_be_deleted(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    assert (await action(cloud, admin, sid, {"migrate": None})).status_code == 202
    await wait_for(cloud, admin, sid, "VERIFY_RESIZE")
    assert cloud.compute is not None
    await cloud.compute.agents[source][1].stop()
    found = await cloud.client.get(f"{V}/os-services?host={source}&binary=nova-compute",
                                   headers={**admin, **mv("2.53")})

    refused = await cloud.client.delete(f"{V}/os-services/{found.json()['services'][0]['id']}",
                                        headers={**admin, **mv("2.53")})

    assert refused.status_code == 409
    assert "in-progress migrations" in refused.json()["conflictingRequest"]["message"]


async def test_a_guest_moves_only_between_hosts_of_its_hypervisor_type(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await active_server(cloud, admin)
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    async with cloud.services.compute.write() as session:
        await session.execute(update(ComputeNodeRow).where(ComputeNodeRow.host != source)
                              .values(hypervisor_type="qemu"))

    assert (await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto"}})).status_code == 202
    migration = await wait_migration(cloud, admin, sid, "error", "completed")
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert migration["status"] == "error"
    assert shown is not None and shown["status"] == "ACTIVE"
    assert shown["OS-EXT-SRV-ATTR:host"] == source
    assert await allocations(cloud, admin, sid) == {await provider(cloud, admin, source): TINY}
