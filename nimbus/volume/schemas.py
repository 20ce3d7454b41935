"""Request bodies, mirroring Cinder's JSON schemas (cinder/api/schemas/*)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Name = Field(default=None, max_length=255)


def _metadata(value: Any) -> dict[str, str]:
    """Cinder's metadata: keys of 1 to 255 characters, string values of at most 255."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("metadata must be an object")
    for key, item in value.items():
        if not 1 <= len(key) <= 255:
            raise ValueError("metadata keys must be 1 to 255 characters long")
        if not isinstance(item, str) or len(item) > 255:
            raise ValueError(f"metadata value of {key!r} must be a string of at most 255 "
                             "characters")
    return dict(value)


def _required_metadata(value: Any) -> dict[str, str]:
    if value is None:
        raise ValueError("an object is required")
    return _metadata(value)


def _size(value: Any) -> int | None:
    """An integer of at least 1, or its decimal string (Cinder takes both)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("size must be an integer")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(f"size must be an integer, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError("size must be an integer")
    if value < 1:
        raise ValueError(f"{value} is less than the minimum of 1")
    return value


class VolumeCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    size: Any = None
    name: str | None = Name
    description: str | None = Name
    display_name: str | None = Name
    display_description: str | None = Name
    metadata: Any = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    imageRef: str | None = None
    image_id: str | None = None
    multiattach: bool = False

    _check_size = field_validator("size")(_size)
    _check_metadata = field_validator("metadata")(_metadata)


class VolumeCreateRequest(BaseModel):
    volume: VolumeCreate


class VolumeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Name
    description: str | None = Name
    display_name: str | None = Name
    display_description: str | None = Name
    metadata: Any = None

    _check_metadata = field_validator("metadata")(_metadata)


class VolumeUpdateRequest(BaseModel):
    volume: VolumeUpdate


class MetadataRequest(BaseModel):
    metadata: Any

    _check = field_validator("metadata")(_required_metadata)


class MetaItemRequest(BaseModel):
    meta: Any

    _check = field_validator("meta")(_required_metadata)


class SnapshotCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Cinder looks a missing id up and answers 404, not 400.
    volume_id: str | None = None
    name: str | None = Name
    description: str | None = Name
    display_name: str | None = Name
    display_description: str | None = Name
    force: bool | str = False
    metadata: Any = None

    _check_metadata = field_validator("metadata")(_metadata)


class SnapshotCreateRequest(BaseModel):
    snapshot: SnapshotCreate


class SnapshotUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Name
    description: str | None = Name
    display_name: str | None = Name
    display_description: str | None = Name


class SnapshotUpdateRequest(BaseModel):
    snapshot: SnapshotUpdate


class VolumeTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Name
    extra_specs: Any = None
    is_public: bool = Field(default=True, alias="os-volume-type-access:is_public")

    _check_specs = field_validator("extra_specs")(_metadata)


class VolumeTypeCreateRequest(BaseModel):
    volume_type: VolumeTypeCreate


class VolumeTypeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Name
    is_public: bool | None = None


class VolumeTypeUpdateRequest(BaseModel):
    volume_type: VolumeTypeUpdate


class ExtraSpecsRequest(BaseModel):
    extra_specs: Any

    _check = field_validator("extra_specs")(_required_metadata)


class AttachmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume_uuid: str
    instance_uuid: str | None = None
    connector: dict[str, Any] | None = None
    mode: Literal["rw", "ro"] = "rw"


class AttachmentCreateRequest(BaseModel):
    attachment: AttachmentCreate


class AttachmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connector: dict[str, Any]


class AttachmentUpdateRequest(BaseModel):
    attachment: AttachmentUpdate


class QuotaSetRequest(BaseModel):
    quota_set: dict[str, Any]
