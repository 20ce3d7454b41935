"""Query-string parsing shared by compute's list routes, with Nova's 400 messages."""

from __future__ import annotations

from nimbus.core import errors

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
