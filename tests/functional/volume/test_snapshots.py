"""Snapshots: create, list, show, update, metadata, delete; volumes with snapshots."""

from __future__ import annotations

import asyncio

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import MV, available_volume, base, files, wait_for


async def _snapshot(cloud: Cloud, admin: dict[str, str], volume_id: str,
                    **extra: object) -> dict[str, object]:
    resp = await cloud.client.post(f"{await base(cloud, admin)}/snapshots", headers=admin,
                                   json={"snapshot": {"volume_id": volume_id, **extra}})
    assert resp.status_code == 202, resp.text
    snap = await wait_for(cloud, admin, resp.json()["snapshot"]["id"], "available", "error",
                          kind="snapshot")
    assert snap is not None and snap["status"] == "available", snap
    return snap


async def test_snapshot_lifecycle_keeps_a_file_until_deleted(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    url = await base(cloud, admin)

    snap = await _snapshot(cloud, admin, volume["id"], name="s1", metadata={"a": "1"})
    assert f"snapshot-{snap['id']}.qcow2" in files(cloud)
    assert snap["size"] == 1 and snap["metadata"] == {"a": "1"}
    assert snap["os-extended-snapshot-attributes:progress"] == "100%"

    listed = (await cloud.client.get(f"{url}/snapshots/detail", headers={**admin, **MV})).json()
    assert [s["id"] for s in listed["snapshots"]] == [snap["id"]]
    updated = await cloud.client.put(f"{url}/snapshots/{snap['id']}", headers=admin,
                                     json={"snapshot": {"name": "renamed"}})
    assert updated.status_code == 200 and updated.json()["snapshot"]["name"] == "renamed"
    meta = await cloud.client.post(f"{url}/snapshots/{snap['id']}/metadata", headers=admin,
                                   json={"metadata": {"b": "2"}})
    assert meta.json() == {"metadata": {"a": "1", "b": "2"}}

    deleted = await cloud.client.delete(f"{url}/snapshots/{snap['id']}", headers=admin)
    assert deleted.status_code == 202
    assert await wait_for(cloud, admin, str(snap["id"]), "DELETED", kind="snapshot") is None
    assert f"snapshot-{snap['id']}.qcow2" not in files(cloud)


async def test_volume_with_snapshots_is_deleted_only_with_cascade(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    snap = await _snapshot(cloud, admin, volume["id"])
    url = f"{await base(cloud, admin)}/volumes/{volume['id']}"

    refused = await cloud.client.delete(url, headers=admin)
    cascaded = await cloud.client.delete(f"{url}?cascade=true", headers=admin)

    assert refused.status_code == 400
    assert "have snapshots" in refused.json()["badRequest"]["message"]
    assert cascaded.status_code == 202
    assert await wait_for(cloud, admin, volume["id"], "DELETED") is None
    assert await wait_for(cloud, admin, str(snap["id"]), "DELETED", kind="snapshot") is None
    assert files(cloud) == set()


async def test_snapshot_of_unknown_volume_is_not_found(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(f"{await base(cloud, admin)}/snapshots", headers=admin,
                                   json={"snapshot": {"volume_id": "missing"}})

    assert resp.status_code == 404
    assert resp.json()["itemNotFound"]["message"] == "Volume missing could not be found."


async def test_snapshot_quota_is_over_limit(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    url = await base(cloud, admin)
    project = url.rsplit("/", 1)[-1]
    await cloud.client.put(f"{url}/os-quota-sets/{project}", headers=admin,
                           json={"quota_set": {"snapshots": 0}})

    resp = await cloud.client.post(f"{url}/snapshots", headers=admin,
                                   json={"snapshot": {"volume_id": volume["id"]}})

    assert resp.status_code == 413
    assert "overLimit" in resp.json()


async def test_revert_to_the_latest_snapshot(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    volume = await available_volume(cloud, admin)
    first = await _snapshot(cloud, admin, volume["id"])
    await asyncio.sleep(1.0)  # snapshot times have one-second resolution
    latest = await _snapshot(cloud, admin, volume["id"])
    url = f"{await base(cloud, admin)}/volumes/{volume['id']}/action"
    v340 = {**admin, "OpenStack-API-Version": "volume 3.40"}

    old = await cloud.client.post(url, headers=v340, json={"revert": {"snapshot_id": first["id"]}})
    too_early = await cloud.client.post(url, headers=admin,
                                        json={"revert": {"snapshot_id": latest["id"]}})
    done = await cloud.client.post(url, headers=v340,
                                   json={"revert": {"snapshot_id": latest["id"]}})

    assert old.status_code == 400 and too_early.status_code == 400
    assert done.status_code == 202
    assert await wait_for(cloud, admin, volume["id"], "available", "error") is not None
    snap = await wait_for(cloud, admin, str(latest["id"]), "available", kind="snapshot")
    assert snap is not None
