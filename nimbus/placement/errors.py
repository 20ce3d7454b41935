"""Placement's errors, rendered as `{"errors": [{"status", "title", "detail", "code", "request_id"}]}`.

Each class may carry Placement's error `code` (shown from microversion 1.23); the rest answer
`placement.undefined_code`.

    BadRequest   -> InvalidInput, BadQueryValue, MissingQueryValue, DuplicateQueryKey,
                    ProviderNotFoundInRequest
    NotFound     -> ProviderNotFound, InventoryNotFound, ResourceClassNotFound, TraitNotFound,
                    AllocationsNotFound
    Conflict     -> ConcurrentUpdate, DuplicateName, InventoryInUse, ProviderInUse,
                    CannotDeleteParent, CapacityExceeded, InUse
    NotAcceptable -> VersionNotAcceptable
"""

from __future__ import annotations

from typing import ClassVar

from nimbus.core import errors

UNDEFINED_CODE = "placement.undefined_code"


def code_of(exc: errors.NimbusError) -> str:
    return getattr(exc, "code", UNDEFINED_CODE)


class InvalidInput(errors.BadRequest):
    template = "{detail}"


class BadQueryValue(errors.BadRequest):
    code: ClassVar[str] = "placement.query.bad_value"
    template = "{detail}"


class MissingQueryValue(errors.BadRequest):
    code: ClassVar[str] = "placement.query.missing_value"
    template = "{detail}"


class DuplicateQueryKey(errors.BadRequest):
    code: ClassVar[str] = "placement.query.duplicate_key"
    template = "Query parameter '{key}' may be specified only once."


class ProviderNotFoundInRequest(errors.BadRequest):
    code: ClassVar[str] = "placement.resource_provider.not_found"
    template = "Resource provider {uuid} in {where} not found."


class ProviderNotFound(errors.NotFound):
    template = "No resource provider with uuid {uuid} found."


class InventoryNotFound(errors.NotFound):
    template = "No inventory of class {resource_class} for {uuid}."


class ResourceClassNotFound(errors.NotFound):
    template = "No such resource class {name}."


class TraitNotFound(errors.NotFound):
    template = "No such trait(s): {name}."


class AllocationsNotFound(errors.NotFound):
    template = "No allocations for consumer '{consumer}'."


class ConcurrentUpdate(errors.Conflict):
    code: ClassVar[str] = "placement.concurrent_update"
    template = "{detail}"


class DuplicateName(errors.Conflict):
    code: ClassVar[str] = "placement.duplicate_name"
    template = "{detail}"


class InventoryInUse(errors.Conflict):
    code: ClassVar[str] = "placement.inventory.inuse"
    template = "Inventory for '{resource_classes}' on resource provider '{uuid}' in use."


class ProviderInUse(errors.Conflict):
    code: ClassVar[str] = "placement.resource_provider.inuse"
    template = "Unable to delete resource provider {uuid}: Resource provider has allocations."


class CannotDeleteParent(errors.Conflict):
    code: ClassVar[str] = "placement.resource_provider.cannot_delete_parent"
    template = "Unable to delete parent resource provider {uuid}: It has child resource providers."


class CapacityExceeded(errors.Conflict):
    template = "Unable to allocate inventory: {detail}"


class InUse(errors.Conflict):
    template = "{detail}"


class VersionNotAcceptable(errors.NotAcceptable):
    template = "{detail}"
