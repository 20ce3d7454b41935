"""What travels over block storage's RPC: pydantic models, sent as their JSON form."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class VolumeSource(BaseModel):
    """Where a new volume's data comes from."""

    kind: Literal["blank", "image", "snapshot", "volume"] = "blank"
    # The image, snapshot or source volume id (None for blank).
    id: str | None = None
    # An image's disk_format, as the image service records it.
    disk_format: str | None = None


class CreateRequest(BaseModel):
    volume_id: str
    size: int
    project_id: str
    availability_zone: str
    volume_type_id: str
    extra_specs: dict[str, str] = {}
    source: VolumeSource = VolumeSource()
    # A snapshot or source volume lives on one host: the new volume goes there too.
    force_host: str | None = None


class BackendReport(BaseModel):
    host: str
    backend: str
    availability_zone: str
    total_capacity_gb: int
    free_capacity_gb: int
    capabilities: dict[str, object] = {}


class VolumeOnHost(BaseModel):
    id: str
    status: str


class SnapshotOnHost(BaseModel):
    id: str
    status: str
