"""What block storage's routers share: the microversion, query-string parsing, JSON bodies."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from nimbus.core import errors
from nimbus.core.http import describe_validation_error
from nimbus.core.microversions import Microversions
from nimbus.volume.service.listing import ListQuery, parse_sort

MICROVERSIONS = Microversions("volume", minimum=(3, 0), maximum=(3, 60))
Version = Annotated[tuple[int, int], Depends(MICROVERSIONS.dependency)]

PREFIX = "/v3/{project_id}"
Model = TypeVar("Model", bound=pydantic.BaseModel)

_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}
# Query parameters that steer a list rather than filter it.
_PAGING = {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants",
           "with_count"}


def flag(name: str, value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise errors.BadRequest(f"Invalid value '{value}' for {name}: it must be a boolean.")


def bool_body(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return flag(name, value)
    raise errors.BadRequest(f"Invalid value '{value}' for {name}: it must be a boolean.")


def non_negative(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(f"{name} param must be an integer") from None
    if number < 0:
        raise errors.BadRequest(f"{name} param must be positive")
    return number


def list_query(request: Request, sort_keys: set[str], version: tuple[int, int],
               *, renamed: dict[str, str] | None = None) -> ListQuery:
    q = request.query_params
    filters = {k: v for k, v in q.items() if k not in _PAGING}
    for old, new in (renamed or {}).items():
        if old in filters:
            filters[new] = filters.pop(old)
    for key in ("created_at", "updated_at"):
        if key in filters and version < (3, 60):
            filters.pop(key)
    if version < (3, 34):
        filters = {k: v for k, v in filters.items() if not k.endswith("~")}
    return ListQuery(filters=filters,
                     sort=parse_sort(q.get("sort"), q.get("sort_key"), q.get("sort_dir"),
                                     sort_keys),
                     limit=non_negative("limit", q.get("limit")), marker=q.get("marker"),
                     offset=non_negative("offset", q.get("offset")) or 0,
                     all_tenants=flag("all_tenants", q.get("all_tenants")))


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise errors.BadRequest("Malformed request body") from None


def parse(model: type[Model], body: Any) -> Model:
    """Validate a body read by hand (actions) into `model`, with the 400 FastAPI would give."""
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        raise errors.BadRequest(describe_validation_error(
            RequestValidationError(exc.errors()))) from None
