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
