"""What leaves the image service layer: frozen values, and Glance's vocabulary."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated")
VISIBILITIES = ("community", "public", "private", "shared")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
IMPORT_METHODS = ("glance-direct",)
HASH_ALGO = "sha512"


@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    created_at: dt.datetime
    updated_at: dt.datetime
    properties: dict[str, str]
    tags: tuple[str, ...]
    stores: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Member:
    image_id: str
    member_id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Task:
    id: str
    image_id: str
    type: str
    status: str
    owner: str | None
    user_id: str | None
    request_id: str | None
    input: dict[str, Any]
    result: dict[str, Any] | None
    message: str
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class ImagePage:
    images: list[Image]
    # The id to continue after, when the page is full.
    next_marker: str | None


@dataclasses.dataclass(frozen=True)
class Download:
    """An image's bytes, or a part of them, ready to stream."""

    image: Image
    chunks: AsyncIterator[bytes]
    offset: int
    length: int
    partial: bool


@dataclasses.dataclass(frozen=True)
class Usage:
    """One project's consumption against its limits (`GET /v2/info/usage`)."""

    limits: dict[str, int]
    usage: dict[str, int]
