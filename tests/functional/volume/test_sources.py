"""Volumes made from images, snapshots and other volumes, and what a failed create leaves."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import (
    MV,
    available_volume,
    base,
    create_volume,
    files,
    upload_image,
    volume_file,
    wait_for,
)


def qcow2_image(tmp_path: Path, size: str = "64M") -> bytes:
    """A real qcow2 disk with a recognisable first sector."""
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"NIMBUS-BOOT-SECTOR".ljust(512, b"\0"))
    path = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(path)],
                   check=True)
    subprocess.run(["qemu-img", "resize", "-q", str(path), size], check=True)
    return path.read_bytes()


def first_bytes(cloud: Cloud, volume_id: str, tmp_path: Path) -> bytes:
    """The volume's first sector, read back through qemu-img."""
    out = tmp_path / f"{volume_id}.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw",
                    str(volume_file(cloud, volume_id)), str(out)], check=True)
    with out.open("rb") as data:
        return data.read(18)


async def test_volume_from_qcow2_image_is_bootable_with_image_metadata(
        cloud: Cloud, tmp_path: Path) -> None:
    admin = await cloud.admin_headers()
    image_id = await upload_image(cloud, admin, qcow2_image(tmp_path), "qcow2",
                                  hw_disk_bus="virtio")

    volume = await available_volume(cloud, admin, imageRef=image_id)

    assert volume["bootable"] == "true"
    meta = volume["volume_image_metadata"]
    assert meta["image_id"] == image_id and meta["disk_format"] == "qcow2"
    assert meta["hw_disk_bus"] == "virtio"
    assert first_bytes(cloud, volume["id"], tmp_path) == b"NIMBUS-BOOT-SECTOR"


async def test_image_that_is_not_its_disk_format_ends_in_error_with_no_file(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image_id = await upload_image(cloud, admin, b"not a qcow2 file at all" * 100, "qcow2")

    created = await create_volume(cloud, admin, imageRef=image_id)
    volume = await wait_for(cloud, admin, created["id"], "error", "available")

    assert volume is not None and volume["status"] == "error"
    assert not any(created["id"] in name for name in files(cloud))
    assert not any(name.startswith(".") for name in files(cloud))


async def test_image_larger_than_the_volume_is_refused_at_once(cloud: Cloud,
                                                               tmp_path: Path) -> None:
    admin = await cloud.admin_headers()
    image_id = await upload_image(cloud, admin, qcow2_image(tmp_path, "2G"), "qcow2")

    resp = await cloud.client.post(f"{await base(cloud, admin)}/volumes", headers=admin,
                                   json={"volume": {"size": 1, "imageRef": image_id}})

    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == (
        "Invalid input received: Image virtual size is 2GB and doesn't fit in a volume of "
        "size 1GB.")
    assert files(cloud) == set()


async def test_unknown_image_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(
        f"{await base(cloud, admin)}/volumes", headers=admin,
        json={"volume": {"size": 1, "imageRef": "5a1b6d2e-0000-4000-8000-000000000000"}})

    assert resp.status_code == 400
    assert "could not be found" in resp.json()["badRequest"]["message"]


async def test_volume_from_snapshot_and_clone_keep_the_data(cloud: Cloud, tmp_path: Path) -> None:
    admin = await cloud.admin_headers()
    image_id = await upload_image(cloud, admin, qcow2_image(tmp_path), "qcow2")
    source = await available_volume(cloud, admin, imageRef=image_id)
    url = await base(cloud, admin)
    snap = (await cloud.client.post(f"{url}/snapshots", headers=admin, json={
        "snapshot": {"volume_id": source["id"], "name": "s"}})).json()["snapshot"]
    await wait_for(cloud, admin, snap["id"], "available", kind="snapshot")

    from_snap = await available_volume(cloud, admin, snapshot_id=snap["id"], size=2)
    clone = await available_volume(cloud, admin, source_volid=source["id"])

    assert from_snap["size"] == 2 and from_snap["snapshot_id"] == snap["id"]
    assert clone["source_volid"] == source["id"] and clone["bootable"] == "true"
    # Copies of a volume live on its host.
    hosts = {v["os-vol-host-attr:host"] for v in (source, from_snap, clone)}
    assert len(hosts) == 1
    for volume in (from_snap, clone):
        assert first_bytes(cloud, volume["id"], tmp_path) == b"NIMBUS-BOOT-SECTOR"


async def test_volume_smaller_than_its_snapshot_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    source = await available_volume(cloud, admin, size=2)
    url = await base(cloud, admin)
    snap = (await cloud.client.post(f"{url}/snapshots", headers=admin, json={
        "snapshot": {"volume_id": source["id"]}})).json()["snapshot"]
    await wait_for(cloud, admin, snap["id"], "available", kind="snapshot")

    resp = await cloud.client.post(f"{url}/volumes", headers={**admin, **MV}, json={
        "volume": {"size": 1, "snapshot_id": snap["id"]}})

    assert resp.status_code == 400
