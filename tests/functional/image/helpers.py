"""Small request helpers for the image tests (paths under the all-in-one `/image` prefix)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.conftest import Cloud

IMAGES = "/image/v2/images"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
OCTET = "application/octet-stream"


async def create(cloud: Cloud, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = await cloud.client.post(IMAGES, headers=headers, json=body)
    assert resp.status_code == 201, resp.text
    image: dict[str, Any] = resp.json()
    return image


async def upload(cloud: Cloud, headers: dict[str, str], image_id: str, data: bytes,
                 **extra: str) -> httpx.Response:
    return await cloud.client.put(f"{IMAGES}/{image_id}/file", content=data,
                                  headers={**headers, "Content-Type": OCTET, **extra})


async def show(cloud: Cloud, headers: dict[str, str], image_id: str) -> dict[str, Any]:
    resp = await cloud.client.get(f"{IMAGES}/{image_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    image: dict[str, Any] = resp.json()
    return image


async def patch(cloud: Cloud, headers: dict[str, str], image_id: str,
                ops: Any, content_type: str = PATCH_TYPE) -> httpx.Response:
    return await cloud.client.patch(f"{IMAGES}/{image_id}", json=ops,
                                    headers={**headers, "Content-Type": content_type})


async def ids(cloud: Cloud, headers: dict[str, str], query: str = "") -> list[str]:
    resp = await cloud.client.get(f"{IMAGES}{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    return [image["id"] for image in resp.json()["images"]]


def assert_glance_error(resp: httpx.Response, status: int) -> None:
    """Glance's plain-text error body: '<status> <title>\\n\\n<message>'."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("text/plain"), resp.headers
    assert resp.text.startswith(f"{status} "), resp.text
