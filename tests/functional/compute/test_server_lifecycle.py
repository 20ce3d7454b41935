"""Life-cycle actions on fake hosts: createImage, rescue, rebuild, shelve and the crash dump,
each through the API, the conductor and the agent, with Nova's states, answers and events."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.compute.virt.fake import FakeDriver
from nimbus.core.config import ComputeSettings
from tests.functional.compute.helpers import IMAGE_DATA, V, boot, upload_image, usage, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

IMAGES = "/image/v2/images"
MISSING = f"{'0' * 8}-0000-4000-8000-{'0' * 12}"


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud("sqlite", tmp_path, fake_hosts=2) as running:
        yield running


def mv(headers: dict[str, str], version: str) -> dict[str, str]:
    return {**headers, "OpenStack-API-Version": f"compute {version}"}


async def _active(cloud: Cloud, headers: dict[str, str], image: str | None = None) -> str:
    image = image or await upload_image(cloud, await cloud.admin_headers())
    server_id = await boot(cloud, headers, image)
    server = await wait_for(cloud, headers, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE"
    return server_id


async def _act(cloud: Cloud, headers: dict[str, str], server_id: str, body: dict[str, Any],
               version: str = "2.79") -> Any:
    return await cloud.client.post(f"{V}/servers/{server_id}/action", json=body,
                                   headers=mv(headers, version))


async def _settled(cloud: Cloud, headers: dict[str, str], server_id: str,
                   *statuses: str) -> dict[str, Any]:
    """The server once it shows one of `statuses` with no task in progress."""
    while True:
        server = await wait_for(cloud, headers, server_id, *statuses)
        assert server is not None
        if server["OS-EXT-STS:task_state"] is None:
            return server


async def _events(cloud: Cloud, headers: dict[str, str], server_id: str,
                  action: str) -> dict[str, str]:
    """event name -> result of the latest `action` on the server."""
    listed = await cloud.client.get(f"{V}/servers/{server_id}/os-instance-actions",
                                    headers=headers)
    found = [a for a in listed.json()["instanceActions"] if a["action"] == action]
    assert found, listed.json()
    shown = await cloud.client.get(
        f"{V}/servers/{server_id}/os-instance-actions/{found[0]['request_id']}",
        headers=mv(headers, "2.51"))
    return {e["event"]: e["result"] for e in shown.json()["instanceAction"]["events"]}


def _guest_driver(cloud: Cloud, server_id: str) -> FakeDriver:
    assert cloud.compute is not None
    for agent, _ in cloud.compute.agents.values():
        if server_id in getattr(agent.driver, "guests", {}):
            assert isinstance(agent.driver, FakeDriver)
            return agent.driver
    raise AssertionError(f"no host runs {server_id}")


# -- createImage ---------------------------------------------------------------------------


async def test_create_image_uploads_a_snapshot_with_novas_properties(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    base = await upload_image(cloud, await cloud.admin_headers(), os_distro="cirros")
    server_id = await _active(cloud, member, base)

    resp = await _act(cloud, member, server_id,
                      {"createImage": {"name": "snap", "metadata": {"purpose": "test"}}})
    assert resp.status_code == 202, resp.text
    image_id = resp.json()["image_id"]
    await _settled(cloud, member, server_id, "ACTIVE")
    image = (await cloud.client.get(f"{IMAGES}/{image_id}", headers=member)).json()
    data = await cloud.client.get(f"{IMAGES}/{image_id}/file", headers=member)
    server = await wait_for(cloud, member, server_id, "ACTIVE")

    assert "Location" not in resp.headers
    assert image["status"] == "active" and image["name"] == "snap"
    assert image["image_type"] == "snapshot" and image["instance_uuid"] == server_id
    assert image["base_image_ref"] == base and image["purpose"] == "test"
    assert image["os_distro"] == "cirros" and image["owner"] == server["tenant_id"]
    assert image["user_id"] == server["user_id"]
    assert data.content == IMAGE_DATA
    assert await _events(cloud, member, server_id, "createImage") == {
        "compute_snapshot_instance": "Success"}


async def test_create_image_before_2_45_answers_a_location(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)

    resp = await _act(cloud, admin, server_id, {"createImage": {"name": "old"}}, "2.44")

    assert resp.status_code == 202 and resp.content == b""
    image_id = resp.headers["Location"].rsplit("/", 1)[-1]
    await _settled(cloud, admin, server_id, "ACTIVE")
    assert (await cloud.client.get(f"{IMAGES}/{image_id}", headers=admin)).json()["status"] == "active"


async def test_create_image_failure_deletes_the_image(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    _guest_driver(cloud, server_id).fail_next("snapshot", RuntimeError("disk unreadable"))

    resp = await _act(cloud, admin, server_id, {"createImage": {"name": "broken"}})
    await _settled(cloud, admin, server_id, "ACTIVE")
    gone = await cloud.client.get(f"{IMAGES}/{resp.json()['image_id']}", headers=admin)

    assert gone.status_code == 404
    assert await _events(cloud, admin, server_id, "createImage") == {
        "compute_snapshot_instance": "Error"}


async def test_create_image_bad_bodies_are_400(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    for body in ({"createImage": {}}, {"createImage": {"name": "  "}},
                 {"createImage": {"name": "x", "metadata": {"k": 1}}},
                 {"createImage": {"name": "x", "extra": 1}}):
        resp = await _act(cloud, admin, server_id, body)
        assert resp.status_code == 400 and "badRequest" in resp.json(), body


async def test_create_backup_keeps_the_newest_of_its_kind(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await _active(cloud, member)
    made = []
    for index in range(3):
        resp = await _act(cloud, member, server_id, {"createBackup": {
            "name": f"daily-{index}", "backup_type": "daily", "rotation": "2"}})
        assert resp.status_code == 202, resp.text
        made.append(resp.json()["image_id"])
        await _settled(cloud, member, server_id, "ACTIVE")
    old = await _act(cloud, member, server_id, {"createBackup": {
        "name": "weekly", "backup_type": "weekly", "rotation": 1}}, "2.44")
    await _settled(cloud, member, server_id, "ACTIVE")
    backups = (await cloud.client.get(f"{IMAGES}?instance_uuid={server_id}&image_type=backup",
                                      headers=member)).json()["images"]
    negative = await _act(cloud, member, server_id, {"createBackup": {
        "name": "x", "backup_type": "daily", "rotation": -1}})

    # Two daily ones are kept, the newest among them (the others may share its second).
    names = sorted(i["name"] for i in backups)
    assert len(names) == 3 and "daily-2" in names and "weekly" in names
    assert {i["backup_type"] for i in backups} == {"daily", "weekly"}
    assert old.status_code == 202 and "Location" in old.headers
    assert negative.status_code == 400
    assert await _events(cloud, member, server_id, "createBackup") == {
        "compute_backup_instance": "Success"}


# -- rescue --------------------------------------------------------------------------------


async def test_rescue_and_unrescue(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await _active(cloud, member)
    rescue_image = await upload_image(cloud, await cloud.admin_headers())

    rescued = await _act(cloud, member, server_id,
                         {"rescue": {"adminPass": "s3cret", "rescue_image_ref": rescue_image}})
    shown = await _settled(cloud, member, server_id, "RESCUE")
    guest = _guest_driver(cloud, server_id).guests[server_id]
    assert guest.rescued and guest.rescued_from is not None
    assert guest.rescued_from.name == rescue_image
    again = await _act(cloud, member, server_id, {"rescue": None})
    unrescued = await _act(cloud, member, server_id, {"unrescue": None})
    back = await _settled(cloud, member, server_id, "ACTIVE")

    assert rescued.status_code == 200 and rescued.json() == {"adminPass": "s3cret"}
    assert shown["OS-EXT-STS:vm_state"] == "rescued" and shown["OS-EXT-STS:power_state"] == 1
    assert again.status_code == 409 and "conflictingRequest" in again.json()
    assert unrescued.status_code == 202
    assert back["OS-EXT-STS:vm_state"] == "active" and not guest.rescued
    assert await _events(cloud, member, server_id, "rescue") == {
        "compute_rescue_instance": "Success"}
    assert await _events(cloud, member, server_id, "unrescue") == {
        "compute_unrescue_instance": "Success"}


async def test_rescue_generates_a_password_and_checks_the_image(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)

    unknown = await _act(cloud, admin, server_id, {"rescue": {"rescue_image_ref": MISSING}})
    not_rescued = await _act(cloud, admin, server_id, {"unrescue": None})
    rescued = await _act(cloud, admin, server_id, {"rescue": None})

    assert unknown.status_code == 400 and "badRequest" in unknown.json()
    assert not_rescued.status_code == 409
    assert rescued.status_code == 200 and len(rescued.json()["adminPass"]) >= 8
    await _settled(cloud, admin, server_id, "RESCUE")


async def test_rescue_hides_the_password_when_the_cloud_does(tmp_path: Path) -> None:
    settings = ComputeSettings(enable_instance_password=False)
    async with running_cloud("sqlite", tmp_path, fake_hosts=1,
                             compute_settings=settings) as cloud:
        admin = await cloud.admin_headers()
        server_id = await _active(cloud, admin)
        rescued = await _act(cloud, admin, server_id, {"rescue": None})
        assert rescued.status_code == 200 and rescued.json() == {}
        await _settled(cloud, admin, server_id, "RESCUE")


# -- rebuild -------------------------------------------------------------------------------


async def test_rebuild_gives_a_new_image_name_and_metadata(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await _active(cloud, member)
    new_image = await upload_image(cloud, await cloud.admin_headers())

    resp = await _act(cloud, member, server_id, {"rebuild": {
        "imageRef": new_image, "name": "rebuilt", "metadata": {"role": "db"},
        "adminPass": "pw-1", "description": "again", "preserve_ephemeral": False}})
    assert resp.status_code == 202, resp.text
    body = resp.json()["server"]
    server = await _settled(cloud, member, server_id, "ACTIVE")
    guest = _guest_driver(cloud, server_id).guests[server_id]

    assert body["status"] == "REBUILD" and body["OS-EXT-STS:task_state"] == "rebuilding"
    assert body["adminPass"] == "pw-1" and body["image"]["id"] == new_image
    assert server["name"] == "rebuilt" and server["metadata"] == {"role": "db"}
    assert server["description"] == "again" and server["image"]["id"] == new_image
    assert guest.spec.image_path is not None and guest.spec.image_path.name == new_image
    assert await _events(cloud, member, server_id, "rebuild") == {
        "compute_rebuild_instance": "Success"}


async def test_rebuild_response_and_fields_follow_the_microversion(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await _active(cloud, admin, image)
    url_body = {"rebuild": {"imageRef": image}}

    short = await _act(cloud, admin, server_id, url_body, "2.74")
    await _settled(cloud, admin, server_id, "ACTIVE")
    full = await _act(cloud, admin, server_id, url_body, "2.75")
    await _settled(cloud, admin, server_id, "ACTIVE")
    refused = [await _act(cloud, admin, server_id, {"rebuild": {"imageRef": image, **extra}},
                          version)
               for extra, version in (({"key_name": None}, "2.53"), ({"user_data": ""}, "2.56"),
                                      ({"description": "d"}, "2.18"),
                                      ({"personality": []}, "2.57"), ({"bogus": 1}, "2.79"),
                                      ({"imageRef": MISSING}, "2.79"),
                                      ({"user_data": "not base64!"}, "2.79"))]

    assert short.status_code == 202 and "OS-EXT-STS:vm_state" not in short.json()["server"]
    assert short.json()["server"]["user_data"] is None and "key_name" in short.json()["server"]
    assert full.status_code == 202 and "OS-EXT-STS:vm_state" in full.json()["server"]
    assert "OS-EXT-SRV-ATTR:user_data" not in full.json()["server"]
    assert [r.status_code for r in refused] == [400] * 7


async def test_rebuild_of_a_stopped_server_leaves_it_stopped(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await _active(cloud, admin, image)
    assert (await _act(cloud, admin, server_id, {"os-stop": None})).status_code == 202
    await _settled(cloud, admin, server_id, "SHUTOFF")

    resp = await _act(cloud, admin, server_id, {"rebuild": {"imageRef": image}})
    server = await _settled(cloud, admin, server_id, "SHUTOFF")

    assert resp.status_code == 202
    assert server["OS-EXT-STS:power_state"] == 4


async def test_failed_rebuild_puts_the_server_in_error(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await _active(cloud, admin, image)
    _guest_driver(cloud, server_id).fail_next("spawn", RuntimeError("no disk"))

    assert (await _act(cloud, admin, server_id,
                       {"rebuild": {"imageRef": image}})).status_code == 202
    await _settled(cloud, admin, server_id, "ERROR")

    assert await _events(cloud, admin, server_id, "rebuild") == {
        "compute_rebuild_instance": "Error"}


# -- shelve --------------------------------------------------------------------------------


async def test_shelve_offloads_and_unshelve_schedules_again(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await _active(cloud, member)
    assert sum((await usage(cloud, admin)).values()) == 1

    shelved = await _act(cloud, member, server_id, {"shelve": None})
    offloaded = await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")
    images = (await cloud.client.get(f"{IMAGES}?name=vm-shelved", headers=member)).json()["images"]
    freed = await usage(cloud, admin)
    unshelved = await _act(cloud, member, server_id, {"unshelve": None})
    active = await _settled(cloud, admin, server_id, "ACTIVE")
    after = (await cloud.client.get(f"{IMAGES}?name=vm-shelved", headers=member)).json()["images"]

    assert shelved.status_code == 202 and unshelved.status_code == 202
    assert offloaded["OS-EXT-SRV-ATTR:host"] is None and offloaded["OS-EXT-STS:power_state"] == 0
    assert len(images) == 1 and images[0]["instance_uuid"] == server_id
    assert sum(freed.values()) == 0
    assert active["OS-EXT-SRV-ATTR:host"] is not None
    assert sum((await usage(cloud, admin)).values()) == 1
    assert after == []
    assert await _events(cloud, member, server_id, "shelve") == {
        "compute_shelve_instance": "Success", "compute_shelve_offload_instance": "Success"}
    assert await _events(cloud, member, server_id, "unshelve") == {
        "conductor_unshelve_instance": "Success", "compute_unshelve_instance": "Success"}


async def test_shelved_server_stays_until_an_admin_offloads_it(tmp_path: Path) -> None:
    settings = ComputeSettings(shelved_offload_time=-1)
    async with running_cloud("sqlite", tmp_path, fake_hosts=1,
                             compute_settings=settings) as cloud:
        admin = await cloud.admin_headers()
        member = {"X-Auth-Token": await member_token(cloud)}
        server_id = await _active(cloud, member)

        assert (await _act(cloud, member, server_id, {"shelve": None})).status_code == 202
        shelved = await _settled(cloud, admin, server_id, "SHELVED")
        to_zone = await _act(cloud, member, server_id,
                             {"unshelve": {"availability_zone": "nova"}}, "2.77")
        by_member = await _act(cloud, member, server_id, {"shelveOffload": None})
        by_admin = await _act(cloud, admin, server_id, {"shelveOffload": None})
        offloaded = await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")
        assert (await _act(cloud, member, server_id, {"unshelve": None})).status_code == 202
        await _settled(cloud, admin, server_id, "ACTIVE")

        assert shelved["OS-EXT-SRV-ATTR:host"] is not None
        assert to_zone.status_code == 409
        assert by_member.status_code == 403 and by_admin.status_code == 202
        assert offloaded["OS-EXT-SRV-ATTR:host"] is None


async def test_shelved_server_is_offloaded_by_its_host_after_shelved_offload_time(
        tmp_path: Path) -> None:
    settings = ComputeSettings(shelved_offload_time=1, shelved_poll_interval=0.1)
    async with running_cloud("sqlite", tmp_path, fake_hosts=1,
                             compute_settings=settings) as cloud:
        admin = await cloud.admin_headers()
        server_id = await _active(cloud, admin)
        back_id = await _active(cloud, admin)

        assert (await _act(cloud, admin, server_id, {"shelve": None})).status_code == 202
        assert (await _act(cloud, admin, back_id, {"shelve": None})).status_code == 202
        shelved = await _settled(cloud, admin, server_id, "SHELVED", "SHELVED_OFFLOADED")
        await _settled(cloud, admin, back_id, "SHELVED")
        assert (await _act(cloud, admin, back_id, {"unshelve": None})).status_code == 202
        offloaded = await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")
        back = await _settled(cloud, admin, back_id, "ACTIVE")
        await asyncio.sleep(1.5)  # past the offload time: an active server stays where it is

        assert shelved["status"] == "SHELVED" and shelved["OS-EXT-SRV-ATTR:host"] is not None
        assert offloaded["OS-EXT-SRV-ATTR:host"] is None
        # No action of its own: as in Nova, the event joins the server's last action.
        assert await _events(cloud, admin, server_id, "shelve") == {
            "compute_shelve_instance": "Success", "compute_shelve_offload_instance": "Success"}
        assert sum((await usage(cloud, admin)).values()) == 1
        still = await wait_for(cloud, admin, back_id, "ACTIVE")
        assert still is not None and still["OS-EXT-SRV-ATTR:host"] == back[
            "OS-EXT-SRV-ATTR:host"]


async def test_unshelve_to_a_zone_needs_2_77_and_a_known_zone(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    assert (await _act(cloud, admin, server_id, {"shelve": None})).status_code == 202
    await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")

    early = await _act(cloud, admin, server_id, {"unshelve": {"availability_zone": "nova"}},
                       "2.76")
    unknown = await _act(cloud, admin, server_id, {"unshelve": {"availability_zone": "mars"}},
                         "2.77")
    zoned = await _act(cloud, admin, server_id, {"unshelve": {"availability_zone": "nova"}},
                       "2.77")
    server = await _settled(cloud, admin, server_id, "ACTIVE")

    assert early.status_code == 400 and unknown.status_code == 400
    assert zoned.status_code == 202 and server["OS-EXT-AZ:availability_zone"] == "nova"


async def test_unshelve_with_no_host_stays_offloaded(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    assert (await _act(cloud, admin, server_id, {"shelve": None})).status_code == 202
    await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")
    services = (await cloud.client.get(f"{V}/os-services?binary=nova-compute",
                                       headers=mv(admin, "2.53"))).json()["services"]
    for svc in services:
        disabled = await cloud.client.put(f"{V}/os-services/{svc['id']}",
                                          json={"status": "disabled"}, headers=mv(admin, "2.53"))
        assert disabled.status_code == 200, disabled.text

    assert (await _act(cloud, admin, server_id, {"unshelve": None})).status_code == 202
    await _settled(cloud, admin, server_id, "SHELVED_OFFLOADED")

    assert await _events(cloud, admin, server_id, "unshelve") == {
        "conductor_unshelve_instance": "Error"}


# -- trigger_crash_dump --------------------------------------------------------------------


async def test_trigger_crash_dump(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)

    early = await _act(cloud, admin, server_id, {"trigger_crash_dump": None}, "2.16")
    dumped = await _act(cloud, admin, server_id, {"trigger_crash_dump": None}, "2.17")
    console = await _act(cloud, admin, server_id, {"os-getConsoleOutput": {}})
    assert (await _act(cloud, admin, server_id, {"os-stop": None})).status_code == 202
    await _settled(cloud, admin, server_id, "SHUTOFF")
    stopped = await _act(cloud, admin, server_id, {"trigger_crash_dump": None}, "2.17")

    assert early.status_code == 404
    assert dumped.status_code == 202
    assert "Kernel panic" in console.json()["output"]
    assert stopped.status_code == 409 and "conflictingRequest" in stopped.json()


# -- who may act ---------------------------------------------------------------------------

ACTIONS: list[dict[str, Any]] = [
    {"createImage": {"name": "img"}}, {"rescue": None}, {"unrescue": None},
    {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}},
    {"rebuild": {"imageRef": "IMAGE"}}, {"shelve": None}, {"shelveOffload": None},
    {"unshelve": None}, {"trigger_crash_dump": None}]


def _with_image(body: dict[str, Any], image: str) -> dict[str, Any]:
    if "rebuild" in body:
        return {"rebuild": {"imageRef": image}}
    return body


async def test_locked_servers_refuse_members_and_other_projects_see_none(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    stranger = {"X-Auth-Token": await member_token(cloud)}
    image = await upload_image(cloud, admin)
    server_id = await _active(cloud, member, image)
    assert (await _act(cloud, admin, server_id, {"lock": None})).status_code == 202

    locked = [await _act(cloud, member, server_id, _with_image(b, image)) for b in ACTIONS]
    hidden = [await _act(cloud, stranger, server_id, _with_image(b, image)) for b in ACTIONS]
    admin_rescue = await _act(cloud, admin, server_id, {"rescue": None})

    # shelveOffload is the admins' (403 by policy before the lock is looked at).
    assert [r.status_code for r in locked] == [409] * 6 + [403] + [409] * 2
    assert all("conflictingRequest" in r.json() for r in locked if r.status_code == 409)
    assert [r.status_code for r in hidden] == [404] * len(ACTIONS)
    assert admin_rescue.status_code == 200
    await _settled(cloud, admin, server_id, "RESCUE")


async def test_actions_in_the_wrong_state_are_409(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await _active(cloud, admin, image)
    assert (await _act(cloud, admin, server_id, {"rescue": None})).status_code == 200
    await _settled(cloud, admin, server_id, "RESCUE")

    # A rescued server can only be unrescued (or crash-dumped) among these.
    answers = {next(iter(b)): (await _act(cloud, admin, server_id, _with_image(b, image))).status_code
               for b in ACTIONS if next(iter(b)) not in ("unrescue", "trigger_crash_dump")}

    assert answers == {"createImage": 409, "createBackup": 409, "rescue": 409, "rebuild": 409,
                       "shelve": 409, "shelveOffload": 409, "unshelve": 409}


# -- an agent that restarts mid-action -----------------------------------------------------


async def test_agent_restart_settles_interrupted_actions(cloud: Cloud) -> None:
    assert cloud.compute is not None
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    snapshotted, rebuilt = await _active(cloud, admin, image), await _active(cloud, admin, image)
    hosts = {(await wait_for(cloud, admin, s, "ACTIVE") or {})["OS-EXT-SRV-ATTR:host"]
             for s in (snapshotted, rebuilt)}
    slow = {h: cloud.compute.agents[h][0].driver for h in hosts}
    for driver in slow.values():
        assert isinstance(driver, FakeDriver)
        driver.config = dataclasses.replace(driver.config, action_delay=30, spawn_delay=30)
    assert (await _act(cloud, admin, snapshotted, {"createImage": {"name": "cut"}})).status_code == 202
    assert (await _act(cloud, admin, rebuilt, {"rebuild": {"imageRef": image}})).status_code == 202
    for server_id, task in ((snapshotted, "image_pending_upload"), (rebuilt, "rebuilding")):
        for _ in range(3000):
            shown = await wait_for(cloud, admin, server_id, "ACTIVE", "REBUILD")
            if shown is not None and shown["OS-EXT-STS:task_state"] == task:
                break
            await asyncio.sleep(0.01)

    # The agents die mid-action and start again with a fresh hypervisor view.
    for host in hosts:
        agent, runner = cloud.compute.agents[host]
        for server_ in runner.servers:
            server_.stop_timeout = 0.05  # type: ignore[attr-defined]
        await runner.stop()
        await agent.stop()
        old = slow[host]
        assert isinstance(old, FakeDriver)
        agent.driver = FakeDriver(dataclasses.replace(old.config, action_delay=0, spawn_delay=0))
        await agent.start()

    after_snapshot = await _settled(cloud, admin, snapshotted, "ACTIVE")
    after_rebuild = await _settled(cloud, admin, rebuilt, "ERROR")
    assert after_snapshot["OS-EXT-STS:vm_state"] == "active"
    assert after_rebuild["OS-EXT-STS:vm_state"] == "error"
