"""Glance's response shapes. Links are relative (`/v2/images/{id}`), as Glance writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from nimbus.image.domain import Image, ImagePage, Member, Task


def isotime(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image(img: Image) -> dict[str, Any]:
    """Base attributes always (null when unset), extra properties only when they have a value."""
    view: dict[str, Any] = dict(img.properties)
    view.update({
        "id": img.id, "name": img.name, "status": img.status, "visibility": img.visibility,
        "protected": img.protected, "os_hidden": img.os_hidden, "owner": img.owner,
        "disk_format": img.disk_format, "container_format": img.container_format,
        "size": img.size, "virtual_size": img.virtual_size, "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo, "os_hash_value": img.os_hash_value,
        "min_disk": img.min_disk, "min_ram": img.min_ram,
        "created_at": isotime(img.created_at), "updated_at": isotime(img.updated_at),
        "tags": list(img.tags),
        "self": f"/v2/images/{img.id}", "file": f"/v2/images/{img.id}/file",
        "schema": "/v2/schemas/image",
    })
    if img.stores:
        view["stores"] = ",".join(img.stores)
    return view


def image_page(page: ImagePage, query: list[tuple[str, str]]) -> dict[str, Any]:
    """`first` and `next` keep every query parameter but the marker."""
    kept = [(k, v) for k, v in query if k != "marker"]
    body: dict[str, Any] = {"images": [image(i) for i in page.images],
                            "first": "/v2/images" + (f"?{urlencode(kept)}" if kept else ""),
                            "schema": "/v2/schemas/images"}
    if page.next_marker is not None:
        body["next"] = "/v2/images?" + urlencode([*kept, ("marker", page.next_marker)])
    return body


def member(m: Member) -> dict[str, Any]:
    return {"member_id": m.member_id, "image_id": m.image_id, "status": m.status,
            "created_at": isotime(m.created_at), "updated_at": isotime(m.updated_at),
            "schema": "/v2/schemas/member"}


def members(items: list[Member]) -> dict[str, Any]:
    return {"members": [member(m) for m in items], "schema": "/v2/schemas/members"}


def task(t: Task) -> dict[str, Any]:
    return {"id": t.id, "image_id": t.image_id, "type": t.type, "status": t.status,
            "owner": t.owner, "user_id": t.user_id, "request_id": t.request_id,
            "input": t.input, "result": t.result, "message": t.message,
            "created_at": isotime(t.created_at), "updated_at": isotime(t.updated_at),
            "expires_at": isotime(t.expires_at) if t.expires_at else None}
