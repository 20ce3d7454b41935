"""Query-string and body parsing shared by compute's routes, with Nova's 400 messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

import pydantic
from fastapi import Request
from fastapi.exceptions import RequestValidationError

from nimbus.core import errors
from nimbus.core.http import describe_validation_error

Model = TypeVar("Model", bound=pydantic.BaseModel)

_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def optional_int(name: str, value: str | None, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid {name} filter [{value}]") from None
    if number < minimum:
        raise errors.BadRequest(f"Invalid {name} filter [{value}]")
    return number


def timestamp(name: str, value: str | None) -> dt.datetime | None:
    """An ISO 8601 time filter (changes-since, changes-before), as naive UTC."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.BadRequest(f"Invalid filter field: {name}.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def limit(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest("limit param must be an integer") from None
    if number < 0:
        raise errors.BadRequest("limit param must be positive")
    return number


def tri_state(name: str, value: str | None, default: bool | None) -> bool | None:
    """`true`/`false`, or `none` for both (Nova's is_public)."""
    if value is None:
        return default
    lowered = value.lower()
    if lowered == "none":
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise errors.BadRequest(f"Invalid {name} filter [{value}]")


def strict_bool(name: str, value: str | None) -> bool | None:
    """oslo's strict bool_from_string, which Nova uses for query flags such as with_servers."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise errors.BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                            f"'{value}' is not a valid boolean")


def reject_unknown(request: Request, allowed: Iterable[str]) -> None:
    """Nova's query schemas with additionalProperties false (2.75 made most of them so)."""
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in set(allowed)]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise errors.BadRequest(f"Additional properties are not allowed ({names} {verb} unexpected)")


async def json_body(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        raise errors.BadRequest("Malformed request body") from None


async def body_as(request: Request, model: type[Model]) -> Model:
    """The request body validated against `model`, for routes whose shape depends on the
    microversion (FastAPI's own body parsing cannot choose the model per request)."""
    body = await json_body(request)
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        raise errors.BadRequest(describe_validation_error(
            RequestValidationError(exc.errors()))) from None
