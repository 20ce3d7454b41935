"""Request models mirroring Nova's JSON schemas (additionalProperties false: unknown keys are 400).

Fields that exist only from some microversion are checked by the service layer against
the request's version, so that one model serves the whole range.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

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


def _number_as_text(value: object) -> object:
    """Nova takes a flavor id as a string or a JSON number (Tempest sends integers), kept as
    its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FlavorCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    ram: Count = Field(ge=1, le=MAX_INT)
    vcpus: Count = Field(ge=1, le=MAX_INT)
    disk: Count = Field(ge=0, le=MAX_INT)
    id: Annotated[str, BeforeValidator(_number_as_text)] | None = Field(
        default=None, min_length=1, max_length=255)
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


def _ipv4(value: str) -> str:
    return str(ipaddress.IPv4Address(value))


def _ipv6(value: str) -> str:
    """Nova keeps the canonical (RFC 5952) form, so `0:0:0:0:0:babe:220.12.22.2` reads back
    as `::babe:dc0c:1602`."""
    return str(ipaddress.IPv6Address(value))


AccessIPv4 = Annotated[str, AfterValidator(_ipv4)]
AccessIPv6 = Annotated[str, AfterValidator(_ipv6)]


def _base64(value: str) -> str:
    """Nova's `"format": "base64"`: the guest gets the decoded bytes, so they must decode."""
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("is not valid base64") from None
    return value


UserData = Annotated[str, Field(max_length=65535), AfterValidator(_base64)]


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
    user_data: UserData | None = None
    availability_zone: str | None = Field(default=None, min_length=1, max_length=255)
    block_device_mapping_v2: list[BlockDeviceMapping] | None = None
    config_drive: bool | str | None = None
    min_count: Count = Field(default=1, ge=1)
    max_count: Count | None = Field(default=None, ge=1)
    return_reservation_id: bool = False
    security_groups: list[SecurityGroupRef] | None = None
    description: str | None = Field(default=None, max_length=255)
    tags: list[str] | None = Field(default=None, max_length=50)
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(default=None, alias="OS-DCF:diskConfig")
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


class ResetState(_Strict):
    state: Literal["active", "error"]


class ResetStateRequest(_Strict):
    reset: ResetState = Field(alias="os-resetState")


class ServerUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(default=None, alias="OS-DCF:diskConfig")


class ServerUpdateRequest(_Strict):
    server: ServerUpdate


# -- os-services ----------------------------------------------------------------------------

_BOOL_WORDS = {"True": True, "TRUE": True, "true": True, "1": True, "ON": True, "On": True,
               "on": True, "YES": True, "Yes": True, "yes": True,
               "False": False, "FALSE": False, "false": False, "0": False, "OFF": False,
               "Off": False, "off": False, "NO": False, "No": False, "no": False}


def _nova_bool(value: object) -> object:
    """Nova's parameter_types.boolean: JSON booleans or a fixed set of words."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _BOOL_WORDS:
        return _BOOL_WORDS[value]
    raise ValueError(f"{value!r} is not a valid boolean")


NovaBool = Annotated[bool, BeforeValidator(_nova_bool)]
Reason = Annotated[str, Field(min_length=1, max_length=255)]


class LegacyServiceUpdate(_Strict):
    """PUT /os-services/{enable,disable,disable-log-reason,force-down} before 2.53."""

    host: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-._]*$")
    binary: str = Field(min_length=1, max_length=255)
    disabled_reason: Reason | None = None
    forced_down: NovaBool | None = None


class ServiceUpdate(_Strict):
    """PUT /os-services/{uuid} from 2.53."""

    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: Reason | None = None
    forced_down: NovaBool | None = None


# -- quotas ---------------------------------------------------------------------------------


def _quota_value(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]+", value):
            raise ValueError(f"'{value}' does not match '^-?[0-9]+$'")
        return int(value)
    return value


QuotaValue = Annotated[int, BeforeValidator(_quota_value), Field(ge=-1, le=MAX_INT)]


class QuotaSetUpdate(_Strict):
    """Every key Nova ever took; the service refuses those a microversion dropped."""

    instances: QuotaValue | None = None
    cores: QuotaValue | None = None
    ram: QuotaValue | None = None
    key_pairs: QuotaValue | None = None
    metadata_items: QuotaValue | None = None
    server_groups: QuotaValue | None = None
    server_group_members: QuotaValue | None = None
    injected_files: QuotaValue | None = None
    injected_file_content_bytes: QuotaValue | None = None
    injected_file_path_bytes: QuotaValue | None = None
    fixed_ips: QuotaValue | None = None
    floating_ips: QuotaValue | None = None
    security_groups: QuotaValue | None = None
    security_group_rules: QuotaValue | None = None
    force: NovaBool = False

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, value: object) -> object:
        if isinstance(value, dict):
            for key, item in value.items():
                if item is None:
                    raise ValueError(f"{key}: None is not of type 'integer', 'string'")
        return value


class QuotaSetUpdateRequest(_Strict):
    quota_set: QuotaSetUpdate


# -- server groups --------------------------------------------------------------------------

# Nova's "name" format: printable characters, not starting or ending with whitespace.
_NAME = re.compile(r"^(?!\s)[^\x00-\x1f\x7f]*(?<!\s)$")


def _group_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("An invalid 'name' value was provided. The name must be: printable "
                         "characters. Can not start or end with whitespace.")
    return value


GroupName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_group_name)]


def _positive(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        return int(value)
    return value


class GroupRules(_Strict):
    max_server_per_host: Annotated[int, BeforeValidator(_positive), Field(ge=1, le=MAX_INT)] | None = None


class LegacyServerGroup(_Strict):
    """Before 2.64: one policy, in a list."""

    name: GroupName
    policies: list[str] = Field(min_length=1, max_length=1)


class LegacyServerGroupRequest(_Strict):
    server_group: LegacyServerGroup


class ServerGroup(_Strict):
    """From 2.64: `policy`, and `rules` for anti-affinity."""

    name: GroupName
    policy: str
    rules: GroupRules | None = None


class ServerGroupRequest(_Strict):
    server_group: ServerGroup


# -- server metadata and tags ---------------------------------------------------------------

_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
MetaValue = Annotated[str, Field(max_length=255)]


def _meta_keys(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not _META_KEY.match(key):
            raise ValueError(f"invalid metadata key {key!r}: 1 to 255 of letters, digits, "
                             "'-', '_', ':', '.' and spaces")
    return value


Metadata = Annotated[dict[str, MetaValue], AfterValidator(_meta_keys)]


def _one_item(value: dict[str, str]) -> dict[str, str]:
    if len(value) != 1:
        raise ValueError(f"{value!r} must have exactly one property")
    return value


class MetadataRequest(_Strict):
    metadata: Metadata


class MetaItemRequest(_Strict):
    meta: Annotated[Metadata, AfterValidator(_one_item)]


Tag = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^,/]*$")]
MAX_TAGS = 50


class TagsRequest(_Strict):
    tags: list[Tag] = Field(max_length=MAX_TAGS)


class FixedIpRequest(_Strict):
    ip_address: str


class InterfaceAttachment(_Strict):
    net_id: str | None = None
    port_id: str | None = None
    fixed_ips: list[FixedIpRequest] | None = Field(default=None, min_length=1, max_length=1)
    tag: str | None = Field(default=None, max_length=60)


class InterfaceAttachRequest(_Strict):
    interfaceAttachment: InterfaceAttachment = Field(default_factory=InterfaceAttachment)


# -- host aggregates ------------------------------------------------------------------------

_AZ_NAME = re.compile(r"^(?!\s)[^\x00-\x1f\x7f:]*(?<!\s)$")
# Update takes names with outer whitespace and strips them (Nova's normalize_name).
_PADDED_NAME = re.compile(r"^\s*[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")


def _az_name(value: str) -> str:
    if not _AZ_NAME.match(value):
        raise ValueError("An invalid 'availability_zone' value was provided. The name must be: "
                         "printable characters except :.Can not start or end with whitespace.")
    return value


def _padded_name(value: str) -> str:
    if not _PADDED_NAME.match(value):
        raise ValueError("An invalid 'name' value was provided. The name must be: printable "
                         "characters with at least one non space character")
    return value.strip()


ZoneName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_az_name)]
PaddedName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_padded_name)]


class AggregateCreate(_Strict):
    name: GroupName
    availability_zone: ZoneName | None = None


class AggregateCreateRequest(_Strict):
    aggregate: AggregateCreate


class AggregateUpdate(_Strict):
    name: PaddedName | None = None
    availability_zone: ZoneName | None = None

    @model_validator(mode="after")
    def _something(self) -> AggregateUpdate:
        if not self.model_fields_set & {"name", "availability_zone"}:
            raise ValueError("{} should be non-empty: name or availability_zone is required")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("None is not of type 'string'")
        return self


class AggregateUpdateRequest(_Strict):
    aggregate: AggregateUpdate


Hostname = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-._]*$")]


class AggregateHost(_Strict):
    host: Hostname


class AggregateMetadata(_Strict):
    metadata: dict[Annotated[str, Field(pattern=r"^[a-zA-Z0-9-_:. ]{1,255}$")],
                   Annotated[str, Field(max_length=255)] | None]


class AddHostRequest(_Strict):
    add_host: AggregateHost


class RemoveHostRequest(_Strict):
    remove_host: AggregateHost


class SetMetadataRequest(_Strict):
    set_metadata: AggregateMetadata


# -- volume attachments -----------------------------------------------------------------------

# Nova's parameter_types: a device name like /dev/vdb, /dev/xvdc or /dev/sdb.
_DEVICE = r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"
_UUID_PATTERN = (r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                 r"[0-9a-fA-F]{12}$")


class VolumeAttachmentBody(_Strict):
    volumeId: str = Field(pattern=_UUID_PATTERN)
    device: str | None = Field(default=None, pattern=_DEVICE)
    tag: str | None = Field(default=None, min_length=1, max_length=60)
    delete_on_termination: bool | None = None


class VolumeAttachRequest(_Strict):
    volumeAttachment: VolumeAttachmentBody


class VolumeSwapBody(_Strict):
    volumeId: str = Field(pattern=_UUID_PATTERN)


class VolumeSwapRequest(_Strict):
    volumeAttachment: VolumeSwapBody
