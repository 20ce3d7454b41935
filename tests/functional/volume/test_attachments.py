"""Attaching: the attachments API (3.27+) and the older volume actions."""

from __future__ import annotations

import uuid

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import action, available_volume, base, show

CONNECTOR = {"host": "compute-1", "initiator": "iqn.1993-08.org.debian:01:abc",
             "mountpoint": "/dev/vdb"}


async def test_attachment_flow_reserve_connect_complete_delete(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    url = f"{await base(cloud, admin)}/attachments"
    v = {**admin, "OpenStack-API-Version": "volume 3.44"}
    server = str(uuid.uuid4())

    created = await cloud.client.post(url, headers=v, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": server}})
    assert created.status_code == 200, created.text
    attachment = created.json()["attachment"]
    assert attachment["status"] == "reserved"
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "reserved"

    updated = await cloud.client.put(f"{url}/{attachment['id']}", headers=v,
                                     json={"attachment": {"connector": CONNECTOR}})
    info = updated.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "file"
    assert info["data"]["device_path"].endswith(f"volume-{volume['id']}.qcow2")

    completed = await cloud.client.post(f"{url}/{attachment['id']}/action", headers=v,
                                        json={"os-complete": None})
    assert completed.status_code == 204
    shown = await show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "in-use"
    assert shown["attachments"][0]["server_id"] == server

    refused = await cloud.client.delete(f"{await base(cloud, admin)}/volumes/{volume['id']}",
                                        headers=admin)
    assert refused.status_code == 400

    deleted = await cloud.client.delete(f"{url}/{attachment['id']}", headers=v)
    assert deleted.status_code == 200 and deleted.json() == {"attachments": []}
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "available"


async def test_attachments_need_microversion_3_27(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.get(f"{await base(cloud, admin)}/attachments", headers=admin)

    assert resp.status_code == 404


async def test_attaching_an_in_use_volume_to_another_server_is_refused(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    url = f"{await base(cloud, admin)}/attachments"
    v = {**admin, "OpenStack-API-Version": "volume 3.27"}
    server = str(uuid.uuid4())
    first = await cloud.client.post(url, headers=v, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": server, "connector": CONNECTOR}})
    assert first.status_code == 200, first.text
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "in-use"

    second = await cloud.client.post(url, headers=v, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": str(uuid.uuid4())}})
    # The same server may hold a second one: it is moving to another host.
    moving = await cloud.client.post(url, headers=v, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": server}})

    assert second.status_code == 400
    assert "badRequest" in second.json()
    assert moving.status_code == 200, moving.text
    assert moving.json()["attachment"]["status"] == "reserved"
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "in-use"


async def test_legacy_actions_attach_and_detach(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    server = str(uuid.uuid4())

    assert (await action(cloud, admin, volume["id"], "os-reserve")).status_code == 202
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "attaching"
    conn = await action(cloud, admin, volume["id"], "os-initialize_connection",
                        {"connector": CONNECTOR})
    assert conn.status_code == 200 and conn.json()["connection_info"]["data"]["access_mode"] == "rw"
    attach = await action(cloud, admin, volume["id"], "os-attach",
                          {"instance_uuid": server, "mountpoint": "/dev/vdb"})
    assert attach.status_code == 202
    shown = await show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "in-use"

    assert (await action(cloud, admin, volume["id"], "os-begin_detaching")).status_code == 202
    detach = await action(cloud, admin, volume["id"], "os-detach",
                          {"attachment_id": shown["attachments"][0]["attachment_id"]})
    assert detach.status_code == 202
    assert (await show(cloud, admin, "volume", volume["id"]) or {})["status"] == "available"
    assert (await action(cloud, admin, volume["id"], "os-terminate_connection",
                         {"connector": CONNECTOR})).status_code == 202


async def test_detach_of_a_volume_with_no_attachment_settles_it_available(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    assert (await action(cloud, admin, volume["id"], "os-reset_status",
                         {"status": "error"})).status_code == 202

    detach = await action(cloud, admin, volume["id"], "os-detach", {})

    assert detach.status_code == 202, detach.text
    shown = await show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["status"] == "available" and shown["attachments"] == []
