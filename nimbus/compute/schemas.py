"""Request models mirroring Nova's JSON schemas (additionalProperties false: unknown keys are 400).

Fields that exist only from some microversion are checked by the service layer against
the request's version, so that one model serves the whole range.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

_FLAVOR_ID = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
MAX_INT = 2**31 - 1


def _int_from_text(value: object) -> object:
    """Nova takes counts as JSON numbers or as strings of digits."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    return value


Count = Annotated[int, BeforeValidator(_int_from_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FlavorCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    ram: Count = Field(ge=1, le=MAX_INT)
    vcpus: Count = Field(ge=1, le=MAX_INT)
    disk: Count = Field(ge=0, le=MAX_INT)
    id: str | None = Field(default=None, min_length=1, max_length=255)
    ephemeral: Count = Field(default=0, ge=0, le=MAX_INT, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: Count = Field(default=0, ge=0, le=MAX_INT)
    rxtx_factor: float = Field(default=1.0, gt=0, le=3.40282e38)
    is_public: bool = Field(default=True, alias="os-flavor-access:is_public")
    description: str | None = Field(default=None, max_length=65535)

    @field_validator("name")
    @classmethod
    def _no_outer_whitespace(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not have leading or trailing whitespace")
        return value

    @field_validator("id")
    @classmethod
    def _flavor_id(cls, value: str | None) -> str | None:
        if value is not None and not _FLAVOR_ID.match(value):
            raise ValueError("may contain only letters, digits, '.', '_', '-' and inner spaces")
        return value


class FlavorCreateRequest(_Strict):
    flavor: FlavorCreate


class FlavorUpdate(_Strict):
    description: str | None = Field(max_length=65535)


class FlavorUpdateRequest(_Strict):
    flavor: FlavorUpdate


_SPEC_KEY = re.compile(r"^[a-zA-Z0-9\-_:. ]{1,255}$")


def _spec_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("extra spec values must be strings or numbers")
    text = str(value)
    if not 0 <= len(text) <= 255:
        raise ValueError("extra spec values are at most 255 characters")
    return text


SpecValue = Annotated[str, BeforeValidator(_spec_value)]


class ExtraSpecsRequest(_Strict):
    extra_specs: dict[str, SpecValue]

    @field_validator("extra_specs")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _SPEC_KEY.match(key):
                raise ValueError(f"invalid extra spec key {key!r}")
        return value


class TenantRef(_Strict):
    tenant: str = Field(min_length=1, max_length=255)


class FlavorAccessAction(_Strict):
    add: TenantRef | None = Field(default=None, alias="addTenantAccess")
    remove: TenantRef | None = Field(default=None, alias="removeTenantAccess")


class KeypairCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    public_key: str | None = Field(default=None, max_length=65535)
    type: str | None = None
    user_id: str | None = Field(default=None, min_length=1, max_length=255)


class KeypairCreateRequest(_Strict):
    keypair: KeypairCreate


# -- servers --------------------------------------------------------------------------------

_TAG = re.compile(r"^[^,/]{1,60}$")


class NetworkRequest(_Strict):
    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = Field(default=None, max_length=60)


class BlockDeviceMapping(_Strict):
    boot_index: int | str | None = None
    uuid: str | None = None
    source_type: str | None = None
    destination_type: str | None = None
    volume_size: Count | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    device_type: str | None = None
    disk_bus: str | None = None
    guest_format: str | None = None
    no_device: bool | None = None
    tag: str | None = None
    volume_type: str | None = None


class SecurityGroupRef(_Strict):
    name: str = Field(min_length=1, max_length=255)


class ServerCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    imageRef: str | None = None
    flavorRef: str | int
    adminPass: str | None = None
    metadata: dict[str, Annotated[str, Field(max_length=255)]] = Field(default_factory=dict)
    networks: list[NetworkRequest] | str | None = None
    key_name: str | None = Field(default=None, min_length=1, max_length=255)
    user_data: str | None = Field(default=None, max_length=65535)
    availability_zone: str | None = Field(default=None, min_length=1, max_length=255)
    block_device_mapping_v2: list[BlockDeviceMapping] | None = None
    config_drive: bool | str | None = None
    min_count: Count = Field(default=1, ge=1)
    max_count: Count | None = Field(default=None, ge=1)
    return_reservation_id: bool = False
    security_groups: list[SecurityGroupRef] | None = None
    description: str | None = Field(default=None, max_length=255)
    tags: list[str] | None = Field(default=None, max_length=50)
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: str | None = Field(default=None, alias="OS-DCF:diskConfig")
    host: str | None = None
    hypervisor_hostname: str | None = None

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not 1 <= len(key) <= 255:
                raise ValueError("metadata keys are 1 to 255 characters")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        for tag in value or []:
            if not _TAG.match(tag):
                raise ValueError(f"invalid tag {tag!r}")
        return value


class SchedulerHints(BaseModel):
    # Nova allows hints it does not know; they pass through to out-of-tree filters.
    model_config = ConfigDict(extra="allow")
    group: str | None = None
    same_host: str | list[str] | None = None
    different_host: str | list[str] | None = None


class ServerCreateRequest(_Strict):
    server: ServerCreate
    scheduler_hints: SchedulerHints | None = Field(default=None, alias="OS-SCH-HNT:scheduler_hints")
    scheduler_hints_new: SchedulerHints | None = Field(default=None, alias="os:scheduler_hints")


class ServerUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: str | None = Field(default=None, alias="OS-DCF:diskConfig")


class ServerUpdateRequest(_Strict):
    server: ServerUpdate
