"""Volume actions: extend, flags, image metadata, reset status, upload to image."""

from __future__ import annotations

from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import (
    action,
    available_volume,
    base,
    show,
    virtual_size,
    volume_file,
    wait_for,
)


async def test_extend_grows_the_volume_and_its_file(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)

    resp = await action(cloud, admin, volume["id"], "os-extend", {"new_size": 3})
    extended = await wait_for(cloud, admin, volume["id"], "available", "error_extending")

    assert resp.status_code == 202
    assert extended is not None and extended["size"] == 3
    assert virtual_size(volume_file(cloud, volume["id"])) == 3 << 30


async def test_extend_to_a_smaller_size_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin, size=2)

    resp = await action(cloud, admin, volume["id"], "os-extend", {"new_size": 1})

    assert resp.status_code == 400
    assert "must be greater than current size" in resp.json()["badRequest"]["message"]


async def test_flags_and_image_metadata(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)

    bootable = await action(cloud, admin, volume["id"], "os-set_bootable", {"bootable": True})
    readonly = await action(cloud, admin, volume["id"], "os-update_readonly_flag",
                            {"readonly": True})
    meta = await action(cloud, admin, volume["id"], "os-set_image_metadata",
                        {"metadata": {"hw_disk_bus": "scsi"}})
    unset = await action(cloud, admin, volume["id"], "os-unset_image_metadata",
                         {"key": "hw_disk_bus"})

    assert (bootable.status_code, readonly.status_code) == (200, 202)
    assert meta.json() == {"metadata": {"hw_disk_bus": "scsi"}}
    assert unset.status_code == 200
    shown = await show(cloud, admin, "volume", volume["id"])
    assert shown is not None and shown["bootable"] == "true"
    assert shown["metadata"] == {"readonly": "True"}
    assert "volume_image_metadata" not in shown


async def test_reset_status_is_for_admins(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    volume = await available_volume(cloud, member)

    refused = await action(cloud, member, volume["id"], "os-reset_status", {"status": "error"})
    done = await action(cloud, admin, volume["id"], "os-reset_status", {"status": "error"})

    assert refused.status_code == 403 and "forbidden" in refused.json()
    assert done.status_code == 202
    shown = await show(cloud, member, "volume", volume["id"])
    assert shown is not None and shown["status"] == "error"


async def test_members_see_only_their_project(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    volume = await available_volume(cloud, admin)

    resp = await cloud.client.get(f"{await base(cloud, member)}/volumes/{volume['id']}",
                                  headers=member)
    listed = await cloud.client.get(f"{await base(cloud, member)}/volumes", headers=member)

    assert resp.status_code == 404
    assert listed.json()["volumes"] == []


async def test_upload_to_image_makes_an_active_image(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)

    resp = await action(cloud, admin, volume["id"], "os-volume_upload_image",
                        {"image_name": "from-volume", "disk_format": "qcow2"})

    assert resp.status_code == 202, resp.text
    reply = resp.json()["os-volume_upload_image"]
    assert reply["image_name"] == "from-volume" and reply["disk_format"] == "qcow2"
    await wait_for(cloud, admin, volume["id"], "available")
    image = (await cloud.client.get(f"/image/v2/images/{reply['image_id']}",
                                    headers=admin)).json()
    assert image["status"] == "active" and image["disk_format"] == "qcow2"
    assert image["virtual_size"] == 1 << 30
