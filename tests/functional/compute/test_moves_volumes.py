"""A server's volumes follow it when it moves: after a resize (confirmed or reverted), a live
migration (completed or aborted), an evacuation and a shelve-offload and unshelve, the volume
has one attachment, connected to the host the guest runs on, and that guest has the volume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.compute.virt.fake import FakeDriver
from tests.dbs import backends
from tests.functional.compute.helpers import V, show, wait_for
from tests.functional.compute.moves import (
    action,
    force_down,
    running_live_migration,
    server_with_volume,
    slow_live_migrations,
    wait_migration,
)
from tests.functional.conftest import Cloud, running_cloud
from tests.functional.volume import helpers as vol


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=3,
                             volume_hosts=1) as running:
        yield running


def guest_volumes(cloud: Cloud, host: str, server_id: str) -> set[str]:
    """The volumes the fake guest on `host` has (none when it is not there)."""
    assert cloud.compute is not None
    driver = cloud.compute.agents[host][0].driver
    assert isinstance(driver, FakeDriver)
    guest = driver.guests.get(server_id)
    return set(guest.volumes) if guest else set()


async def attachments(cloud: Cloud, admin: dict[str, str], volume_id: str) -> list[Any]:
    """The volume's status and its attachments as (server, host, attachment id)."""
    shown = await vol.show(cloud, admin, "volume", volume_id)
    assert shown is not None
    return [shown["status"], *[(a["server_id"], a["host_name"], a["attachment_id"])
                                for a in shown["attachments"]]]


async def assert_connected(cloud: Cloud, admin: dict[str, str], server_id: str, host: str,
                           volume_id: str) -> str:
    """The volume is in use by the server at `host` alone, and server show lists it; the
    attachment's id."""
    [status, (server, at, attachment_id)] = await attachments(cloud, admin, volume_id)
    assert (status, server, at) == ("in-use", server_id, host)
    assert guest_volumes(cloud, host, server_id) == {volume_id}
    shown = await show(cloud, admin, server_id)
    assert shown is not None and shown["OS-EXT-SRV-ATTR:host"] == host
    assert [v["id"] for v in shown["os-extended-volumes:volumes_attached"]] == [volume_id]
    return str(attachment_id)


async def to_verify_resize(cloud: Cloud, admin: dict[str, str], server_id: str,
                           body: dict[str, Any], volume_id: str) -> tuple[str, str]:
    """Resize or migrate the server to VERIFY_RESIZE, where the volume is connected at the
    destination: the destination and the attachment's id."""
    assert (await action(cloud, admin, server_id, body)).status_code == 202
    moved = await wait_for(cloud, admin, server_id, "VERIFY_RESIZE", "ERROR", "ACTIVE")
    assert moved is not None and moved["status"] == "VERIFY_RESIZE", moved
    dest: str = moved["OS-EXT-SRV-ATTR:host"]
    return dest, await assert_connected(cloud, admin, server_id, dest, volume_id)


async def test_resize_connects_the_volume_at_the_destination_until_confirmed(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)
    before = await assert_connected(cloud, admin, sid, source, volume_id)

    dest, during = await to_verify_resize(cloud, admin, sid, {"resize": {"flavorRef": "2"}},
                                          volume_id)
    confirmed = await action(cloud, admin, sid, {"confirmResize": None})
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert confirmed.status_code == 204 and done is not None and done["status"] == "ACTIVE"
    assert during != before  # the source's attachment went when it let go of the volume
    assert await assert_connected(cloud, admin, sid, dest, volume_id) == during
    assert guest_volumes(cloud, source, sid) == set()


async def test_resize_revert_connects_the_volume_at_the_source_again(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)
    dest, during = await to_verify_resize(cloud, admin, sid, {"migrate": None}, volume_id)

    reverted = await action(cloud, admin, sid, {"revertResize": None})
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert reverted.status_code == 202 and done is not None and done["status"] == "ACTIVE"
    assert await assert_connected(cloud, admin, sid, source, volume_id) != during
    assert guest_volumes(cloud, dest, sid) == set()


async def test_live_migration_hands_the_volume_to_the_destination(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)

    moved = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto"}})
    migration = await wait_migration(cloud, admin, sid, "completed", "failed", "error")

    assert moved.status_code == 202 and migration["status"] == "completed", migration
    await assert_connected(cloud, admin, sid, migration["dest_compute"], volume_id)
    assert guest_volumes(cloud, source, sid) == set()
    # Detaching reaches the attachment the destination made.
    detached = await cloud.client.delete(f"{V}/servers/{sid}/os-volume_attachments/{volume_id}",
                                         headers=admin)
    assert detached.status_code == 202, detached.text
    assert await attachments(cloud, admin, volume_id) == ["available"]


async def test_aborted_live_migration_drops_the_destination_attachment(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    slow_live_migrations(cloud)
    sid, source, volume_id = await server_with_volume(cloud, admin)
    before = await assert_connected(cloud, admin, sid, source, volume_id)
    running = await running_live_migration(cloud, admin, sid)
    # While the guest is copied, the destination holds a second attachment of its own.
    [_, *both] = await attachments(cloud, admin, volume_id)
    assert sorted(host for _, host, _ in both) == sorted([source, running["dest_compute"]])

    aborted = await cloud.client.delete(
        f"{V}/servers/{sid}/migrations/{running['id']}",
        headers={**admin, "OpenStack-API-Version": "compute 2.24"})
    migration = await wait_migration(cloud, admin, sid, "cancelled", "failed")

    assert aborted.status_code == 202 and migration["status"] == "cancelled"
    assert await assert_connected(cloud, admin, sid, source, volume_id) == before


async def test_a_destination_that_cannot_prepare_keeps_no_attachment(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)
    before = await assert_connected(cloud, admin, sid, source, volume_id)
    assert cloud.compute is not None
    for host, (agent, _) in cloud.compute.agents.items():
        assert isinstance(agent.driver, FakeDriver)
        if host != source:
            agent.driver.fail_next("prepare_incoming", RuntimeError("no room for it"))

    moved = await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto"}})
    migration = await wait_migration(cloud, admin, sid, "completed", "failed", "error")

    assert moved.status_code == 202 and migration["status"] == "error", migration
    assert await assert_connected(cloud, admin, sid, source, volume_id) == before


async def test_evacuate_replaces_the_attachment_of_the_dead_host(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)
    before = await assert_connected(cloud, admin, sid, source, volume_id)
    assert cloud.compute is not None
    await cloud.compute.agents[source][1].stop()
    await force_down(cloud, admin, source, True)

    evacuated = await action(cloud, admin, sid, {"evacuate": {}}, "2.29")
    shown = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")

    assert evacuated.status_code == 200, evacuated.text
    assert shown is not None and shown["status"] == "ACTIVE", shown
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source
    assert await assert_connected(cloud, admin, sid, dest, volume_id) != before


async def test_offloaded_server_holds_its_volume_reserved_until_unshelved(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    sid, source, volume_id = await server_with_volume(cloud, admin)

    assert (await action(cloud, admin, sid, {"shelve": None})).status_code == 202
    offloaded = await wait_for(cloud, admin, sid, "SHELVED_OFFLOADED", "ERROR")
    assert offloaded is not None and offloaded["status"] == "SHELVED_OFFLOADED", offloaded
    # Cinder shows no attachment in the volume until one is attached: the reservation is in
    # the attachments API.
    assert await attachments(cloud, admin, volume_id) == ["reserved"]
    listed = await cloud.client.get(f"{await vol.base(cloud, admin)}/attachments/detail",
                                    params={"volume_id": volume_id},
                                    headers={**admin, "OpenStack-API-Version": "volume 3.44"})
    assert [(a["instance"], a["status"], a["connection_info"])
            for a in listed.json()["attachments"]] == [(sid, "reserved", None)]
    assert [v["id"] for v in offloaded["os-extended-volumes:volumes_attached"]] == [volume_id]

    assert (await action(cloud, admin, sid, {"unshelve": None})).status_code == 202
    done = await wait_for(cloud, admin, sid, "ACTIVE", "ERROR")
    assert done is not None and done["status"] == "ACTIVE", done
    await assert_connected(cloud, admin, sid, done["OS-EXT-SRV-ATTR:host"], volume_id)
