"""Request bodies, mirroring Placement's JSON schemas (unknown keys are 400), chosen by
microversion: each `*_model(version)` returns the shape that version accepts."""

from __future__ import annotations

import uuid as uuidlib
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from nimbus.placement import errors, standard

Version = tuple[int, int]


def _uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a 'uuid'") from exc


Uuid = Annotated[str, AfterValidator(_uuid)]
UuidKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$"), AfterValidator(_uuid)]
ClassName = Annotated[str, StringConstraints(pattern=standard.NAME_RE.pattern, max_length=255)]
CustomName = Annotated[str, StringConstraints(pattern=standard.CUSTOM_NAME_RE.pattern,
                                              max_length=255)]
Amount = Annotated[int, Field(ge=1)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Suffix = Annotated[str, StringConstraints(pattern=r"^([a-zA-Z0-9_-]{1,64})?$")]
MaxInt = Annotated[int, Field(le=standard.MAX_INT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def parse(model: Any, raw: bytes) -> Any:
    """Validate a JSON body against `model` (a class or a TypeAdapter); 400 in Placement's words."""
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_json(raw or b"")
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise errors.InvalidInput(detail=f"Malformed JSON: {first['msg']}") from exc
        where = ".".join(str(p) for p in first["loc"])
        what = f"{where}: {first['msg']}" if where else first["msg"]
        raise errors.InvalidInput(detail=f"JSON does not validate: {what}") from exc


# --- resource providers --------------------------------------------------------------------

class ProviderCreate(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    uuid: Uuid | None = None


class ProviderCreate114(ProviderCreate):
    parent_provider_uuid: Uuid | None = None


class ProviderUpdate(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ProviderUpdate114(ProviderUpdate):
    parent_provider_uuid: Uuid | None = None


def provider_create_model(version: Version) -> type[ProviderCreate]:
    return ProviderCreate114 if version >= (1, 14) else ProviderCreate


def provider_update_model(version: Version) -> type[ProviderUpdate]:
    return ProviderUpdate114 if version >= (1, 14) else ProviderUpdate


# --- inventories ---------------------------------------------------------------------------

class InventoryFields(_Strict):
    total: Annotated[int, Field(ge=1, le=standard.MAX_INT)]
    reserved: Annotated[int, Field(ge=0, le=standard.MAX_INT)] = 0
    min_unit: Annotated[int, Field(ge=1, le=standard.MAX_INT)] = 1
    max_unit: Annotated[int, Field(ge=1, le=standard.MAX_INT)] = standard.MAX_INT
    step_size: Annotated[int, Field(ge=1, le=standard.MAX_INT)] = 1
    allocation_ratio: Annotated[float, Field(le=standard.MAX_FLOAT)] = 1.0


class InventoryWithGeneration(InventoryFields):
    """PUT of one class: also the fields Placement echoes back (generation)."""

    resource_provider_generation: int


class InventoryCreate(InventoryFields):
    resource_class: ClassName
    resource_provider_generation: int | None = None


class InventoriesPut(_Strict):
    resource_provider_generation: int
    inventories: dict[ClassName, InventoryFields]


# --- traits, aggregates, resource classes --------------------------------------------------

class ProviderTraitsPut(_Strict):
    traits: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]]
    resource_provider_generation: int


AggregatesList = TypeAdapter(Annotated[list[Uuid], Field()])


class AggregatesPut(_Strict):
    aggregates: list[Uuid]
    resource_provider_generation: int


class ResourceClassBody(_Strict):
    name: CustomName


# --- allocations ---------------------------------------------------------------------------

Resources = Annotated[dict[ClassName, Amount], Field(min_length=1)]


class ProviderRef(_Strict):
    uuid: Uuid


class ListedAllocation(_Strict):
    resource_provider: ProviderRef
    resources: Resources


class AllocationsPut10(_Strict):
    allocations: Annotated[list[ListedAllocation], Field(min_length=1)]


class AllocationsPut18(AllocationsPut10):
    project_id: ExternalId
    user_id: ExternalId


class ProviderAllocation(_Strict):
    resources: Resources
    generation: int | None = None  # accepted for symmetry with GET, ignored


class ConsumerAllocations113(_Strict):
    """One consumer's entry in POST /allocations (an empty dict removes its allocations)."""

    allocations: dict[UuidKey, ProviderAllocation]
    project_id: ExternalId
    user_id: ExternalId


class AllocationsPut112(ConsumerAllocations113):
    allocations: Annotated[dict[UuidKey, ProviderAllocation], Field(min_length=1)]


class ConsumerAllocations128(ConsumerAllocations113):
    consumer_generation: int | None


class ConsumerAllocations134(ConsumerAllocations128):
    mappings: Annotated[dict[Suffix, Annotated[list[Uuid], Field(min_length=1)]],
                        Field(min_length=1)] | None = None


class ConsumerAllocations138(ConsumerAllocations134):
    consumer_type: Annotated[str, StringConstraints(pattern=standard.NAME_RE.pattern,
                                                    min_length=1, max_length=255)]




def consumer_model(version: Version) -> type[ConsumerAllocations113]:
    if version >= (1, 38):
        return ConsumerAllocations138
    if version >= (1, 34):
        return ConsumerAllocations134
    if version >= (1, 28):
        return ConsumerAllocations128
    return ConsumerAllocations113


def allocations_put_model(version: Version) -> type[BaseModel]:
    if version >= (1, 28):
        return consumer_model(version)
    if version >= (1, 12):
        return AllocationsPut112
    return AllocationsPut18 if version >= (1, 8) else AllocationsPut10


def _post_adapter(entry: type[ConsumerAllocations113]) -> TypeAdapter[dict[str, ConsumerAllocations113]]:
    shape = Annotated[dict[UuidKey, entry], Field(min_length=1)]  # type: ignore[valid-type]
    return TypeAdapter(shape)


def _reshaper(entry: type[ConsumerAllocations113]) -> type[BaseModel]:
    class Reshape(_Strict):
        inventories: Annotated[dict[UuidKey, InventoriesPut], Field(min_length=1)]
        allocations: dict[UuidKey, entry]  # type: ignore[valid-type]

    return Reshape


_CONSUMER_MODELS = (ConsumerAllocations113, ConsumerAllocations128, ConsumerAllocations134,
                    ConsumerAllocations138)
_POST = {m: _post_adapter(m) for m in _CONSUMER_MODELS}
_RESHAPE = {m: _reshaper(m) for m in _CONSUMER_MODELS}


def allocations_post_model(version: Version) -> TypeAdapter[dict[str, ConsumerAllocations113]]:
    return _POST[consumer_model(version)]


def reshaper_model(version: Version) -> type[BaseModel]:
    return _RESHAPE[consumer_model(version)]
