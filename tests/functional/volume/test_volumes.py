"""Volumes through the Cinder v3 API: create, show, list, update, delete, on file backends."""

from __future__ import annotations

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import MV, base, create_volume, files, wait_for


async def test_versions_are_listed_without_a_token(cloud: Cloud) -> None:
    root = await cloud.client.get("/volume/")
    v3 = await cloud.client.get("/volume/v3/")

    assert root.status_code == 300
    version = root.json()["versions"][0]
    assert version["id"] == "v3.0" and version["min_version"] == "3.0"
    assert version["version"] == "3.60"
    assert v3.status_code == 200 and v3.json()["versions"][0]["id"] == "v3.0"


async def test_create_blank_volume_becomes_available_with_a_file(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    created = await create_volume(cloud, admin, name="v1", metadata={"k": "v"})

    assert created["status"] == "creating" and created["size"] == 1
    assert created["volume_type"] == "__DEFAULT__" and created["bootable"] == "false"
    volume = await wait_for(cloud, admin, created["id"], "available", "error")
    assert volume is not None and volume["status"] == "available", volume
    assert volume["metadata"] == {"k": "v"}
    assert volume["os-vol-host-attr:host"] in ("volume-1@file#file", "volume-2@file#file")
    assert f"volume-{created['id']}.qcow2" in files(cloud)


async def test_microversion_is_echoed_and_checked(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = f"{await base(cloud, admin)}/volumes"
    ok = await cloud.client.get(url, headers={**admin, **MV})
    too_new = await cloud.client.get(url, headers={**admin, "OpenStack-API-Version": "volume 3.99"})

    assert ok.headers["OpenStack-API-Version"] == "volume 3.60"
    assert too_new.status_code == 406
    assert too_new.json()["notAcceptable"]["code"] == 406


async def test_delete_removes_row_and_file(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    created = await create_volume(cloud, admin)
    await wait_for(cloud, admin, created["id"], "available")

    resp = await cloud.client.delete(f"{await base(cloud, admin)}/volumes/{created['id']}",
                                     headers=admin)

    assert resp.status_code == 202
    assert await wait_for(cloud, admin, created["id"], "DELETED") is None
    assert not any(created["id"] in name for name in files(cloud))


async def test_show_unknown_volume_is_item_not_found(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.get(f"{await base(cloud, admin)}/volumes/nope", headers=admin)

    assert resp.status_code == 404
    assert resp.json() == {"itemNotFound": {"code": 404,
                                            "message": "Volume nope could not be found."}}


async def test_size_zero_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(f"{await base(cloud, admin)}/volumes",
                                   json={"volume": {"size": 0}}, headers=admin)

    assert resp.status_code == 400
    assert resp.json()["badRequest"]["code"] == 400


async def test_unknown_volume_type_is_not_found(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(f"{await base(cloud, admin)}/volumes",
                                   json={"volume": {"size": 1, "volume_type": "gold"}},
                                   headers=admin)

    assert resp.status_code == 404
    assert "gold" in resp.json()["itemNotFound"]["message"]
