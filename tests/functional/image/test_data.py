"""Image data: upload, download, ranges, checksums, status, interruptions, quotas, import."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nimbus.core import db
from nimbus.image.models import ImageRow
from nimbus.image.service import data as data_service
from tests.functional.conftest import Cloud
from tests.functional.image.helpers import (
    IMAGES,
    OCTET,
    assert_glance_error,
    create,
    show,
    upload,
)
from tests.functional.image.users import new_caller


def store_files(cloud: Cloud) -> list[str]:
    """Every file (including hidden partial ones) in the image and staging stores."""
    root: Path = cloud.services.image.settings.image_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_upload_makes_the_image_active_with_checksums(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, disk_format="raw")
    payload = os.urandom(3 * (4 << 20) + 12345)  # several hashing blocks and a remainder

    resp = await upload(cloud, headers, image["id"], payload)

    assert resp.status_code == 204, resp.text
    shown = await show(cloud, headers, image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(payload)
    assert shown["virtual_size"] == len(payload)
    assert shown["checksum"] == hashlib.md5(payload).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(payload).hexdigest()
    assert shown["stores"] == "file"
    assert store_files(cloud) == [f"file/{image['id']}"]


async def test_download_streams_bytes_with_content_md5(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    payload = os.urandom(2_500_000)
    await upload(cloud, headers, image["id"], payload)

    resp = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)

    assert resp.status_code == 200
    assert resp.content == payload
    assert resp.headers["Content-MD5"] == hashlib.md5(payload).hexdigest()
    assert resp.headers["Content-Length"] == str(len(payload))
    assert resp.headers["Content-Type"] == OCTET


@pytest.mark.parametrize("header, status, expected", [
    ("bytes=3-10", 206, slice(3, 11)),
    ("bytes=20-", 206, slice(20, None)),
    ("bytes=-5", 206, slice(21, None)),
    ("bytes=0-1000", 206, slice(0, None)),
    ("bytes=10-5", 416, None),
    ("bytes=26-30", 416, None),
    ("bytes=0-1,4-5", 416, None),
    ("items=0-4", 416, None),
])
async def test_download_ranges(cloud: Cloud, header: str, status: int,
                               expected: slice | None) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    payload = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    await upload(cloud, headers, image["id"], payload)

    resp = await cloud.client.get(f"{IMAGES}/{image['id']}/file",
                                  headers={**headers, "Range": header})

    assert resp.status_code == status, resp.text
    if expected is not None:
        part = payload[expected]
        start = expected.start
        assert resp.content == part
        assert resp.headers["Content-Range"] == f"bytes {start}-{start + len(part) - 1}/26"
        assert "Content-MD5" not in resp.headers
    else:
        assert_glance_error(resp, 416)


async def test_download_of_an_image_without_data_is_204(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)

    resp = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)

    assert resp.status_code == 204
    assert resp.content == b""


async def test_upload_to_an_active_image_is_409_and_keeps_the_data(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await upload(cloud, headers, image["id"], b"first")

    resp = await upload(cloud, headers, image["id"], b"second")

    assert_glance_error(resp, 409)
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)
    assert data.content == b"first"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_upload_needs_octet_stream(cloud: Cloud, content_type: str | None) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    extra = {"Content-Type": content_type} if content_type else {}

    resp = await cloud.client.put(f"{IMAGES}/{image['id']}/file", content=b"x",
                                  headers={**headers, **extra})

    assert_glance_error(resp, 415)
    assert (await show(cloud, headers, image["id"]))["status"] == "queued"


async def test_upload_without_formats_is_400_and_stays_queued(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    resp = await cloud.client.post(IMAGES, headers=headers, json={"name": "no formats"})
    image = resp.json()

    uploaded = await upload(cloud, headers, image["id"], b"data")

    assert_glance_error(uploaded, 400)
    assert "must be set prior to saving data" in uploaded.text
    assert (await show(cloud, headers, image["id"]))["status"] == "queued"


async def test_upload_to_an_unknown_image_is_404(cloud: Cloud) -> None:
    resp = await upload(cloud, await cloud.admin_headers(),
                        "00000000-0000-0000-0000-000000000000", b"x")

    assert_glance_error(resp, 404)


async def test_reader_and_stranger_cannot_upload(cloud: Cloud) -> None:
    owner, reader = await new_caller(cloud), await new_caller(cloud, role="reader")
    admin = await cloud.admin_headers()
    public = await create(cloud, admin, visibility="public")
    private = await create(cloud, owner.headers, visibility="private")

    to_public = await upload(cloud, owner.headers, public["id"], b"x")
    to_private = await upload(cloud, reader.headers, private["id"], b"x")

    assert_glance_error(to_public, 403)
    assert_glance_error(to_private, 404)


async def test_upload_over_the_size_cap_is_413_without_leftovers(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    cloud.services.image.settings.image.image_size_cap = 1000
    image = await create(cloud, headers)

    declared = await upload(cloud, headers, image["id"], b"x" * 1001)
    chunked = await cloud.client.put(f"{IMAGES}/{image['id']}/file",
                                     content=_chunks([b"x" * 600, b"y" * 600]),
                                     headers={**headers, "Content-Type": OCTET})

    assert_glance_error(declared, 413)
    assert_glance_error(chunked, 413)
    shown = await show(cloud, headers, image["id"])
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert store_files(cloud) == []
    assert (await upload(cloud, headers, image["id"], b"z" * 1000)).status_code == 204


async def test_storage_quota_is_413_as_glance_does(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    cloud.services.image.settings.image.image_size_total = 100
    first = await create(cloud, caller.headers)
    second = await create(cloud, caller.headers)
    assert (await upload(cloud, caller.headers, first["id"], b"a" * 80)).status_code == 204

    resp = await cloud.client.put(f"{IMAGES}/{second['id']}/file",
                                  content=_chunks([b"b" * 15, b"b" * 15]),
                                  headers={**caller.headers, "Content-Type": OCTET})

    assert_glance_error(resp, 413)
    assert "image_size_total" in resp.text
    assert (await show(cloud, caller.headers, second["id"]))["status"] == "queued"
    assert store_files(cloud) == [f"file/{first['id']}"]


async def test_declared_size_mismatch_is_400_and_stays_queued(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)

    resp = await upload(cloud, headers, image["id"], b"12345", **{"x-openstack-image-size": "9"})

    assert_glance_error(resp, 400)
    assert (await show(cloud, headers, image["id"]))["status"] == "queued"
    assert store_files(cloud) == []


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_interrupted_upload_goes_back_to_queued_without_data(cloud: Cloud) -> None:
    """The client goes away mid-body (ASGI http.disconnect): no orphan data, retry works."""
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    app = cloud.client._transport.app  # type: ignore[attr-defined]
    token = headers["X-Auth-Token"]
    events = [{"type": "http.request", "body": b"x" * 100_000, "more_body": True},
              {"type": "http.disconnect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
             "scheme": "http", "path": f"{IMAGES}/{image['id']}/file", "raw_path": b"",
             "query_string": b"", "root_path": "", "server": ("nimbus.test", 80),
             "client": ("127.0.0.1", 1),
             "headers": [(b"host", b"nimbus.test"), (b"x-auth-token", token.encode()),
                         (b"content-type", OCTET.encode()),
                         (b"content-length", b"1000000")]}
    await app(scope, receive, send)

    assert sent[0]["status"] == 400
    shown = await show(cloud, headers, image["id"])
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert store_files(cloud) == []
    assert (await upload(cloud, headers, image["id"], b"retry")).status_code == 204


async def test_image_deleted_during_upload_is_410_and_data_is_removed(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"part one "
        await release.wait()
        yield b"part two"

    uploading = asyncio.create_task(cloud.client.put(
        f"{IMAGES}/{image['id']}/file", content=slow_body(),
        headers={**headers, "Content-Type": OCTET}))
    for _ in range(100):
        if (await show(cloud, headers, image["id"]))["status"] == "saving":
            break
        await asyncio.sleep(0.01)
    deleted = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)
    release.set()
    resp = await uploading

    assert deleted.status_code == 204
    assert_glance_error(resp, 410)
    assert store_files(cloud) == []


async def test_second_upload_while_saving_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"a"
        await release.wait()
        yield b"b"

    first = asyncio.create_task(cloud.client.put(
        f"{IMAGES}/{image['id']}/file", content=slow_body(),
        headers={**headers, "Content-Type": OCTET}))
    for _ in range(100):
        if (await show(cloud, headers, image["id"]))["status"] == "saving":
            break
        await asyncio.sleep(0.01)
    second = await upload(cloud, headers, image["id"], b"other")
    release.set()

    assert_glance_error(second, 409)
    assert (await first).status_code == 204
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)
    assert data.content == b"ab"


async def _leave_a_dead_upload(cloud: Cloud, image_id: str, *, seconds_ago: float) -> Path:
    """What a process killed `seconds_ago` mid-upload leaves: the row in saving, last renewed
    then, and a partial file last written then."""
    deps = cloud.services.image
    async with deps.write() as session:
        row = await session.get(ImageRow, image_id)
        assert row is not None
        row.status = "saving"
        row.updated_at = db.utcnow() - dt.timedelta(seconds=seconds_ago)
    partial = deps.settings.image_dir / "file" / f".{image_id}.dead.part"
    partial.write_bytes(b"half")
    then = time.time() - seconds_ago
    os.utime(partial, (then, then))
    return partial


async def test_recovery_puts_back_an_upload_whose_lease_lapsed(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    lease = cloud.services.image.config.upload_lease_seconds
    await _leave_a_dead_upload(cloud, image["id"], seconds_ago=lease + 5)

    await data_service.recover(cloud.services.image)

    assert (await show(cloud, headers, image["id"]))["status"] == "queued"
    assert store_files(cloud) == []
    assert (await upload(cloud, headers, image["id"], b"retry")).status_code == 204


async def test_recovery_waits_for_the_lease_of_a_process_that_just_died(cloud: Cloud) -> None:
    """Just after a crash, the upload looks like any live one: it is left for a later pass."""
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    partial = await _leave_a_dead_upload(cloud, image["id"], seconds_ago=1)

    await data_service.recover(cloud.services.image)

    assert (await show(cloud, headers, image["id"]))["status"] == "saving"
    assert partial.exists()


async def _slow_upload(cloud: Cloud, headers: dict[str, str], image_id: str,
                       release: asyncio.Event) -> asyncio.Task[httpx.Response]:
    """An upload that sends its first part, then waits for `release`; returns once saving."""
    async def slow_body() -> AsyncIterator[bytes]:
        yield b"part one "
        await release.wait()
        yield b"part two"

    uploading = asyncio.create_task(cloud.client.put(
        f"{IMAGES}/{image_id}/file", content=slow_body(),
        headers={**headers, "Content-Type": OCTET}))
    for _ in range(200):
        if (await show(cloud, headers, image_id))["status"] == "saving":
            break
        await asyncio.sleep(0.01)
    return uploading


async def test_recovery_by_another_process_spares_a_live_upload(cloud: Cloud) -> None:
    """A second image API process starting on the same database and store (its start-up
    recovery) leaves the first one's upload alone, partial file included."""
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    release = asyncio.Event()
    uploading = await _slow_upload(cloud, headers, image["id"], release)

    await data_service.recover(cloud.services.image)
    release.set()
    resp = await uploading

    assert resp.status_code == 204, resp.text
    shown = await show(cloud, headers, image["id"])
    assert (shown["status"], shown["size"]) == ("active", len(b"part one part two"))
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)
    assert data.content == b"part one part two"


async def test_a_stalled_upload_keeps_its_lease(cloud: Cloud) -> None:
    """An upload whose client sends nothing for longer than the lease is still live: its
    process renews the lease, so recovery spares it and its partial file."""
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    # Renewed every 0.25 s: only a renewal late by a whole second could make this fail.
    cloud.services.image.config.upload_lease_seconds = 1.0
    release = asyncio.Event()
    uploading = await _slow_upload(cloud, headers, image["id"], release)
    await asyncio.sleep(2.5)  # two and a half leases without a byte

    await data_service.recover(cloud.services.image)
    release.set()
    resp = await uploading

    assert resp.status_code == 204, resp.text
    assert (await show(cloud, headers, image["id"]))["status"] == "active"
    assert store_files(cloud) == [f"file/{image['id']}"]


async def test_virtual_size_of_qcow2_comes_from_qemu_img(cloud: Cloud, tmp_path: Path) -> None:
    qemu_img = cloud.services.image.qemu_img
    if qemu_img is None:
        pytest.skip("qemu-img is not installed")
    path = tmp_path / "disk.qcow2"
    proc = await asyncio.create_subprocess_exec(qemu_img, "create", "-f", "qcow2", str(path),
                                                "64M", stdout=asyncio.subprocess.DEVNULL)
    assert await proc.wait() == 0
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, disk_format="qcow2")

    await upload(cloud, headers, image["id"], path.read_bytes())

    shown = await show(cloud, headers, image["id"])
    assert shown["virtual_size"] == 64 << 20
    assert shown["size"] == path.stat().st_size


async def test_virtual_size_is_null_when_unknown(cloud: Cloud) -> None:
    cloud.services.image.qemu_img = None
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, disk_format="qcow2")

    await upload(cloud, headers, image["id"], b"not really qcow2")

    assert (await show(cloud, headers, image["id"]))["virtual_size"] is None


async def stage(cloud: Cloud, headers: dict[str, str], image_id: str,
                payload: bytes) -> httpx.Response:
    return await cloud.client.put(f"{IMAGES}/{image_id}/stage", content=payload,
                                  headers={**headers, "Content-Type": OCTET})


async def test_glance_direct_import_stage_then_import(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, disk_format="raw")
    payload = os.urandom(5 << 20)

    staged = await stage(cloud, headers, image["id"], payload)
    while_uploading = await show(cloud, headers, image["id"])
    imported = await cloud.client.post(f"{IMAGES}/{image['id']}/import", headers=headers,
                                       json={"method": {"name": "glance-direct"}})

    assert staged.status_code == 204
    assert while_uploading["status"] == "uploading"
    assert imported.status_code == 202, imported.text
    shown = await show(cloud, headers, image["id"])
    assert (shown["status"], shown["size"], shown["stores"]) == ("active", len(payload), "file")
    assert shown["checksum"] == hashlib.md5(payload).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(payload).hexdigest()
    assert store_files(cloud) == [f"file/{image['id']}"]
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=headers)
    assert data.content == payload
    tasks = (await cloud.client.get(f"{IMAGES}/{image['id']}/tasks", headers=headers)).json()
    [task] = tasks["tasks"]
    assert task["status"] == "success"
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert task["request_id"] == imported.headers["x-openstack-request-id"]


@pytest.mark.parametrize("body, status", [
    ({"method": {"name": "web-download", "uri": "http://example.com/x"}}, 400),
    ({"method": {"name": "copy-image"}}, 400),
    ({"method": {}}, 400),
    ({}, 400),
    ({"method": {"name": "glance-direct"}, "stores": ["elsewhere"]}, 400),
    ({"method": {"name": "glance-direct"}, "all_stores": "yes"}, 400),
])
async def test_bad_import_requests_are_400(cloud: Cloud, body: object, status: int) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await stage(cloud, headers, image["id"], b"data")

    resp = await cloud.client.post(f"{IMAGES}/{image['id']}/import", headers=headers, json=body)

    assert_glance_error(resp, status)
    assert (await show(cloud, headers, image["id"]))["status"] == "uploading"


async def test_import_without_staged_data_or_of_an_active_image_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    queued = await create(cloud, headers)
    active = await create(cloud, headers)
    await upload(cloud, headers, active["id"], b"data")
    body = {"method": {"name": "glance-direct"}}

    not_staged = await cloud.client.post(f"{IMAGES}/{queued['id']}/import", headers=headers,
                                         json=body)
    already = await cloud.client.post(f"{IMAGES}/{active['id']}/import", headers=headers,
                                      json=body)
    stage_active = await stage(cloud, headers, active["id"], b"more")

    assert_glance_error(not_staged, 409)
    assert_glance_error(already, 409)
    assert_glance_error(stage_active, 409)


async def test_deleting_a_staged_image_removes_the_staged_data(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await stage(cloud, headers, image["id"], b"staged bytes")
    assert store_files(cloud) == [f"staging/{image['id']}"]

    resp = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)

    assert resp.status_code == 204
    assert store_files(cloud) == []


async def test_info_import_stores_and_usage(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    image = await create(cloud, caller.headers)
    await upload(cloud, caller.headers, image["id"], b"x" * (3 << 20))
    admin = await cloud.admin_headers()

    imports = (await cloud.client.get("/image/v2/info/import", headers=caller.headers)).json()
    stores = (await cloud.client.get("/image/v2/info/stores", headers=caller.headers)).json()
    detail = await cloud.client.get("/image/v2/info/stores/detail", headers=admin)
    detail_member = await cloud.client.get("/image/v2/info/stores/detail",
                                           headers=caller.headers)
    usage = (await cloud.client.get("/image/v2/info/usage", headers=caller.headers)).json()

    assert imports["import-methods"]["value"] == ["glance-direct"]
    assert stores == {"stores": [{"id": "file", "default": "true",
                                  "description": "Files under the Nimbus state directory"}]}
    assert detail.json()["stores"][0]["type"] == "file"
    assert_glance_error(detail_member, 403)
    assert usage["usage"]["image_count_total"] == {"limit": 1000, "usage": 1}
    assert usage["usage"]["image_size_total"]["usage"] == 3


async def test_delete_from_the_only_store_is_refused(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await upload(cloud, headers, image["id"], b"only copy")

    last = await cloud.client.delete(f"/image/v2/stores/file/{image['id']}", headers=headers)
    unknown = await cloud.client.delete(f"/image/v2/stores/tape/{image['id']}", headers=headers)

    assert_glance_error(last, 409)
    assert_glance_error(unknown, 404)
