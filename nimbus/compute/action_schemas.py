"""Bodies of the life-cycle actions (createImage, rescue, rebuild, shelve), mirroring Nova's
JSON schemas: unknown keys are a 400, and fields newer than the request's microversion are
refused by the service functions (Nova's schema per version range)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nimbus.compute.schemas import AccessIPv4, AccessIPv6, Count, UserData

Name = Annotated[str, Field(min_length=1, max_length=255)]
Metadata = dict[Annotated[str, Field(min_length=1, max_length=255)],
                Annotated[str, Field(max_length=255)]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class CreateImage(_Strict):
    name: Name
    metadata: Metadata = Field(default_factory=dict)

    _blank = field_validator("name")(_not_blank)


class CreateImageRequest(_Strict):
    create_image: CreateImage = Field(alias="createImage")


class CreateBackup(_Strict):
    name: Name
    backup_type: Annotated[str, Field(min_length=1, max_length=255)]
    rotation: Count = Field(ge=0)
    metadata: Metadata = Field(default_factory=dict)

    _blank = field_validator("name")(_not_blank)


class CreateBackupRequest(_Strict):
    create_backup: CreateBackup = Field(alias="createBackup")


class Rescue(_Strict):
    adminPass: str | None = None
    rescue_image_ref: str | None = None


class RescueRequest(_Strict):
    rescue: Rescue | None = None


class Rebuild(_Strict):
    imageRef: str = Field(min_length=1)
    name: Name | None = None
    adminPass: str | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: bool = False
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(default=None, alias="OS-DCF:diskConfig")
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    key_name: Name | None = None
    user_data: UserData | None = None
    description: str | None = Field(default=None, max_length=255)
    trusted_image_certificates: list[str] | None = None
    hostname: str | None = Field(default=None, min_length=1, max_length=63)

    _blank = field_validator("name")(_not_blank)


class RebuildRequest(_Strict):
    rebuild: Rebuild


# Rebuild fields and the microversion that brought each (Nova's rebuild schemas).
REBUILD_SINCE: dict[str, tuple[int, int]] = {
    "description": (2, 19), "key_name": (2, 54), "user_data": (2, 57),
    "trusted_image_certificates": (2, 63), "hostname": (2, 90)}
# ... and the one that took one away.
REBUILD_UNTIL: dict[str, tuple[int, int]] = {"personality": (2, 57)}


class Unshelve(_Strict):
    availability_zone: Name | None = None


class UnshelveRequest(_Strict):
    unshelve: Unshelve | None = None
