"""Servers and volumes: os-volume_attachments, boot from volume, and what a delete or a failed
step leaves (no attachment, no mapping, the volume available or deleted as asked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.compute.virt.fake import FakeDriver
from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, show, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud
from tests.functional.volume import helpers as vol

LATEST = {"OpenStack-API-Version": "compute 2.79"}


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1,
                             volume_hosts=1) as running:
        yield running


def guest_volumes(cloud: Cloud, server_id: str) -> dict[str, Any]:
    assert cloud.compute is not None
    [(agent, _)] = cloud.compute.agents.values()
    assert isinstance(agent.driver, FakeDriver)
    guest = agent.driver.guests.get(server_id)
    return dict(guest.volumes) if guest else {}


async def _active(cloud: Cloud, headers: dict[str, str]) -> str:
    image = await upload_image(cloud, await cloud.admin_headers())
    server_id = await boot(cloud, headers, image)
    server = await wait_for(cloud, headers, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    return server_id


async def _attach(cloud: Cloud, headers: dict[str, str], server_id: str, volume_id: str,
                  version: str = "2.79", **extra: Any) -> Any:
    return await cloud.client.post(
        f"{V}/servers/{server_id}/os-volume_attachments",
        headers={**headers, "OpenStack-API-Version": f"compute {version}"},
        json={"volumeAttachment": {"volumeId": volume_id, **extra}})


async def _attachments(cloud: Cloud, headers: dict[str, str], volume_id: str) -> list[Any]:
    resp = await cloud.client.get(f"{await vol.base(cloud, headers)}/attachments",
                                  params={"volume_id": volume_id},
                                  headers={**headers, "OpenStack-API-Version": "volume 3.44"})
    assert resp.status_code == 200, resp.text
    found: list[Any] = resp.json()["attachments"]
    return found


async def test_attach_list_show_detach_follow_the_volume(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    volume = await vol.available_volume(cloud, admin)

    attached = await _attach(cloud, admin, server_id, volume["id"], tag="data",
                             delete_on_termination=False)
    assert attached.status_code == 200, attached.text
    assert attached.json()["volumeAttachment"] == {
        "id": volume["id"], "volumeId": volume["id"], "serverId": server_id,
        "device": "/dev/vdb", "tag": "data", "delete_on_termination": False}
    shown = await vol.show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "in-use"
    assert [a["server_id"] for a in shown["attachments"]] == [server_id]
    plugged = guest_volumes(cloud, server_id)[volume["id"]]
    assert plugged.path == vol.volume_file(cloud, volume["id"]).resolve()
    assert plugged.format == "qcow2" and plugged.device_name == "/dev/vdb"

    url = f"{V}/servers/{server_id}/os-volume_attachments"
    listed = await cloud.client.get(url, headers={**admin, **LATEST})
    assert [a["volumeId"] for a in listed.json()["volumeAttachments"]] == [volume["id"]]
    old = await cloud.client.get(f"{url}/{volume['id']}", headers=admin)
    assert old.json()["volumeAttachment"] == {"id": volume["id"], "volumeId": volume["id"],
                                              "serverId": server_id, "device": "/dev/vdb"}
    server = await show(cloud, admin, server_id)
    assert server is not None
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": volume["id"], "delete_on_termination": False}]

    detached = await cloud.client.delete(f"{url}/{volume['id']}", headers=admin)
    assert detached.status_code == 202, detached.text
    shown = await vol.show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "available" and shown["attachments"] == []
    assert guest_volumes(cloud, server_id) == {}
    assert (await cloud.client.get(url, headers=admin)).json() == {"volumeAttachments": []}


async def test_attach_bad_input_is_refused_and_reserves_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    other_id = await boot(cloud, admin, await upload_image(cloud, admin))
    await wait_for(cloud, admin, other_id, "ACTIVE")
    volume = await vol.available_volume(cloud, admin)
    url = f"{V}/servers/{server_id}/os-volume_attachments"

    assert (await _attach(cloud, admin, server_id, "not-a-uuid")).status_code == 400
    missing = await _attach(cloud, admin, server_id, "3f5b1c1e-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert "could not be found" in missing.json()["itemNotFound"]["message"]
    assert (await _attach(cloud, admin, server_id, volume["id"], version="2.48",
                          tag="x")).status_code == 400
    assert (await _attach(cloud, admin, server_id, volume["id"], version="2.78",
                          delete_on_termination=True)).status_code == 400
    assert (await _attach(cloud, admin, server_id, volume["id"],
                          device="vdb")).status_code == 400

    assert (await _attach(cloud, admin, server_id, volume["id"])).status_code == 200
    again = await _attach(cloud, admin, server_id, volume["id"])
    assert again.status_code == 400 and "already attached" in again.json()["badRequest"]["message"]
    elsewhere = await _attach(cloud, admin, other_id, volume["id"])
    assert elsewhere.status_code == 400, elsewhere.text
    assert len(await _attachments(cloud, admin, volume["id"])) == 1

    refused = await cloud.client.delete(f"{await vol.base(cloud, admin)}/volumes/{volume['id']}",
                                        headers=admin)
    assert refused.status_code == 400

    unknown = "3f5b1c1e-0000-4000-8000-000000000000"
    assert (await cloud.client.delete(f"{url}/{unknown}", headers=admin)).status_code == 404
    assert (await cloud.client.get(f"{url}/{unknown}", headers=admin)).status_code == 404
    assert (await cloud.client.get(f"{V}/servers/{unknown}/os-volume_attachments",
                                   headers=admin)).status_code == 404


async def test_attach_to_a_locked_or_busy_server_is_a_conflict(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await _active(cloud, member)
    volume = await vol.available_volume(cloud, member)
    locked = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=admin,
                                     json={"lock": None})
    assert locked.status_code == 202

    refused = await _attach(cloud, member, server_id, volume["id"])

    assert refused.status_code == 409, refused.text
    assert "conflictingRequest" in refused.json()
    shown = await vol.show(cloud, member, "volume", volume["id"])
    assert shown is not None and shown["status"] == "available"


async def test_a_failed_hot_plug_rolls_the_reservation_back(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    volume = await vol.available_volume(cloud, admin)
    assert cloud.compute is not None
    [(agent, _)] = cloud.compute.agents.values()
    assert isinstance(agent.driver, FakeDriver)
    agent.driver.fail_next("attach_volume", RuntimeError("QMP said no"))

    failed = await _attach(cloud, admin, server_id, volume["id"])

    assert failed.status_code == 400, failed.text
    assert "could not be attached" in failed.json()["badRequest"]["message"]
    shown = await vol.show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "available"
    assert await _attachments(cloud, admin, volume["id"]) == []
    listed = await cloud.client.get(f"{V}/servers/{server_id}/os-volume_attachments",
                                    headers=admin)
    assert listed.json() == {"volumeAttachments": []}
    assert (await _attach(cloud, admin, server_id, volume["id"])).status_code == 200


async def test_server_delete_detaches_and_deletes_on_termination(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    kept = await vol.available_volume(cloud, admin)
    dropped = await vol.available_volume(cloud, admin)
    assert (await _attach(cloud, admin, server_id, kept["id"])).status_code == 200
    assert (await _attach(cloud, admin, server_id, dropped["id"],
                          delete_on_termination=True)).status_code == 200

    assert (await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)).status_code == 204
    await wait_for(cloud, admin, server_id, "DELETED")

    shown = await vol.wait_for(cloud, admin, kept["id"], "available")
    assert shown is not None and shown["attachments"] == []
    assert await vol.wait_for(cloud, admin, dropped["id"], "DELETED") is None
    assert not any(dropped["id"] in name for name in vol.files(cloud))


async def test_swap_moves_the_server_to_another_volume(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    old = await vol.available_volume(cloud, admin)
    new = await vol.available_volume(cloud, admin)
    assert (await _attach(cloud, admin, server_id, old["id"])).status_code == 200
    url = f"{V}/servers/{server_id}/os-volume_attachments/{old['id']}"
    body = {"volumeAttachment": {"volumeId": new["id"]}}

    member = {"X-Auth-Token": await member_token(cloud)}
    assert (await cloud.client.put(url, headers=member, json=body)).status_code in (403, 404)
    swapped = await cloud.client.put(url, headers=admin, json=body)

    assert swapped.status_code == 202, swapped.text
    assert (await vol.show(cloud, admin, "volume", old["id"]) or {})["status"] == "available"
    assert (await vol.show(cloud, admin, "volume", new["id"]) or {})["status"] == "in-use"
    assert set(guest_volumes(cloud, server_id)) == {new["id"]}
    listed = await cloud.client.get(f"{V}/servers/{server_id}/os-volume_attachments",
                                    headers=admin)
    assert [(a["volumeId"], a["device"]) for a in listed.json()["volumeAttachments"]] == [
        (new["id"], "/dev/vdb")]
    busy = await cloud.client.put(f"{V}/servers/{server_id}/os-volume_attachments/{new['id']}",
                                  headers=admin, json={"volumeAttachment": {
                                      "volumeId": new["id"]}})
    assert busy.status_code == 400


async def _bootable(cloud: Cloud, headers: dict[str, str]) -> dict[str, Any]:
    image = await upload_image(cloud, headers)
    return await vol.available_volume(cloud, headers, imageRef=image)


def _bfv(volume_id: str, **extra: Any) -> dict[str, Any]:
    return {"server": {"name": "bfv", "flavorRef": "1", "networks": "none", "imageRef": "",
                       "block_device_mapping_v2": [{
                           "uuid": volume_id, "boot_index": 0, "source_type": "volume",
                           "destination_type": "volume", "delete_on_termination": False}],
                       **extra}}


async def test_boot_from_volume_reaches_active_and_keeps_the_volume(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await _bootable(cloud, admin)

    created = await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST},
                                      json=_bfv(volume["id"]))
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")

    assert server is not None and server["status"] == "ACTIVE", server
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": volume["id"], "delete_on_termination": False}]
    root = guest_volumes(cloud, server_id)[volume["id"]]
    assert root.boot_index == 0 and root.device_name == "/dev/vda"
    assert (await vol.show(cloud, admin, "volume", volume["id"]) or {})["status"] == "in-use"
    root_detach = await cloud.client.delete(
        f"{V}/servers/{server_id}/os-volume_attachments/{volume['id']}", headers=admin)
    assert root_detach.status_code == 400

    assert (await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)).status_code == 204
    await wait_for(cloud, admin, server_id, "DELETED")
    assert await vol.wait_for(cloud, admin, volume["id"], "available") is not None
    assert await _attachments(cloud, admin, volume["id"]) == []


async def test_boot_from_volume_bad_input_reserves_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await _bootable(cloud, admin)
    used = await _bootable(cloud, admin)
    first = await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST},
                                    json=_bfv(used["id"]))
    assert first.status_code == 202
    await wait_for(cloud, admin, first.json()["server"]["id"], "ACTIVE")

    def mapping(**bdm: Any) -> dict[str, Any]:
        body = _bfv(volume["id"])
        body["server"]["block_device_mapping_v2"][0].update(bdm)
        return body

    missing = "3f5b1c1e-0000-4000-8000-000000000000"
    cases = [
        {"server": {"name": "x", "flavorRef": "1", "networks": "none"}},
        mapping(uuid=missing),
        mapping(source_type="blank"),
        mapping(boot_index="first"),
        _bfv(used["id"]),
        _bfv(volume["id"], max_count=2),
    ]
    for body in cases:
        resp = await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST}, json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert "badRequest" in resp.json()

    assert (await vol.show(cloud, admin, "volume", volume["id"]) or {})["status"] == "available"
    assert await _attachments(cloud, admin, volume["id"]) == []
    listed = await cloud.client.get(f"{V}/servers", headers=admin)
    assert len(listed.json()["servers"]) == 1


async def test_boot_from_image_with_its_root_mapping_and_a_data_volume(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    volume = await vol.available_volume(cloud, admin)
    mappings = [{"uuid": image, "boot_index": 0, "source_type": "image",
                 "destination_type": "local", "delete_on_termination": True},
                {"uuid": volume["id"], "boot_index": -1, "source_type": "volume",
                 "destination_type": "volume", "delete_on_termination": True}]
    body = {"server": {"name": "vm", "flavorRef": "1", "networks": "none", "imageRef": image,
                       "block_device_mapping_v2": mappings}}
    other = await upload_image(cloud, admin)
    twice = {"server": {**body["server"], "imageRef": other}}
    assert (await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST},
                                    json=twice)).status_code == 400

    created = await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST}, json=body)
    assert created.status_code == 202, created.text
    server = await wait_for(cloud, admin, created.json()["server"]["id"], "ACTIVE", "ERROR")

    assert server is not None and server["status"] == "ACTIVE", server
    assert server["image"]["id"] == image
    plugged = guest_volumes(cloud, server["id"])[volume["id"]]
    assert plugged.device_name == "/dev/vdb" and plugged.boot_index is None
    assert (await cloud.client.delete(f"{V}/servers/{server['id']}",
                                      headers=admin)).status_code == 204
    assert await vol.wait_for(cloud, admin, volume["id"], "DELETED") is None


async def test_boot_from_a_volume_made_from_an_image(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    mapping = {"uuid": image, "boot_index": 0, "source_type": "image",
               "destination_type": "volume", "delete_on_termination": True}
    body = {"server": {"name": "bfi", "flavorRef": "1", "networks": "none",
                       "block_device_mapping_v2": [mapping]}}
    missing = {"server": {**body["server"], "block_device_mapping_v2": [
        {**mapping, "uuid": "3f5b1c1e-0000-4000-8000-000000000000"}]}}
    assert (await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST},
                                    json=missing)).status_code == 400

    created = await cloud.client.post(f"{V}/servers", headers={**admin, **LATEST}, json=body)
    assert created.status_code == 202, created.text
    server = await wait_for(cloud, admin, created.json()["server"]["id"], "ACTIVE", "ERROR")

    assert server is not None and server["status"] == "ACTIVE", server
    assert server["image"] == ""
    [attached] = server["os-extended-volumes:volumes_attached"]
    assert attached["delete_on_termination"] is True
    volume = await vol.show(cloud, admin, "volume", attached["id"])
    assert volume is not None and volume["status"] == "in-use" and volume["size"] == 1
    assert volume["volume_image_metadata"]["image_id"] == image
    assert guest_volumes(cloud, server["id"])[volume["id"]].boot_index == 0

    assert (await cloud.client.delete(f"{V}/servers/{server['id']}",
                                      headers=admin)).status_code == 204
    assert await vol.wait_for(cloud, admin, volume["id"], "DELETED") is None
    assert vol.files(cloud) == set()


async def test_rebuild_keeps_the_attached_volumes(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    volume = await vol.available_volume(cloud, admin)
    assert (await _attach(cloud, admin, server_id, volume["id"])).status_code == 200
    image = await upload_image(cloud, admin)

    rebuilt = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=admin,
                                      json={"rebuild": {"imageRef": image}})
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")

    assert rebuilt.status_code == 202, rebuilt.text
    assert server is not None and server["status"] == "ACTIVE", server
    assert server["image"]["id"] == image
    assert guest_volumes(cloud, server_id)[volume["id"]].device_name == "/dev/vdb"
    shown = await vol.show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "in-use"


async def test_shelved_server_comes_back_with_its_volumes(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await _active(cloud, admin)
    volume = await vol.available_volume(cloud, admin)
    assert (await _attach(cloud, admin, server_id, volume["id"])).status_code == 200

    shelved = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=admin,
                                      json={"shelve": None})
    offloaded = await wait_for(cloud, admin, server_id, "SHELVED_OFFLOADED")
    unshelved = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=admin,
                                        json={"unshelve": None})
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")

    assert shelved.status_code == 202 and offloaded is not None
    assert unshelved.status_code == 202, unshelved.text
    assert server is not None and server["status"] == "ACTIVE", server
    assert guest_volumes(cloud, server_id)[volume["id"]].device_name == "/dev/vdb"
    shown = await vol.show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "in-use"
