"""Neutron's attribute validators and converters: each takes a value and returns it converted,
or raises `Invalid` with Neutron's reason text (the caller names the attribute)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], Any]

_MAC_RE = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
_TAG_MAX = 255


class Invalid(Exception):
    """A value that fails its attribute's validation; the message is Neutron's reason."""


def string(max_len: int | None = 255) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"'{value}' is not a valid string")
        if max_len is not None and len(value) > max_len:
            raise Invalid(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return check


def string_or_none(max_len: int | None = 255) -> Check:
    inner = string(max_len)
    return lambda value: None if value is None else inner(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise Invalid(f"'{value}' cannot be converted to boolean")


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(f"'{value}' is not an integer") from None
        if isinstance(value, float) and value != number:
            raise Invalid(f"'{value}' is not an integer")
        if minimum is not None and number < minimum:
            raise Invalid(f"'{number}' should be greater than or equal to {minimum}")
        if maximum is not None and number > maximum:
            raise Invalid(f"'{number}' should be less than or equal to {maximum}")
        return number
    return check


def integer_or_none(minimum: int | None = None, maximum: int | None = None) -> Check:
    inner = integer(minimum, maximum)
    return lambda value: None if value is None else inner(value)


def one_of(*allowed: Any) -> Check:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise Invalid(f"'{value}' is not in {list(allowed)}")
        return value
    return check


def uuid_str(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _bad_uuid(value)
    except ValueError:
        return _bad_uuid(value)


def _bad_uuid(value: Any) -> str:
    raise Invalid(f"'{value}' is not a valid UUID")


def uuid_or_none(value: Any) -> str | None:
    return None if value is None else uuid_str(value)


def ip_address(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"'{value}' is not a valid IP address")
    try:
        # A leading zero is ambiguous (octal or decimal?): Neutron refuses it, as does ipaddress.
        if value != value.strip():
            raise ValueError(value)
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP address") from None


def ip_address_or_none(value: Any) -> str | None:
    return None if value is None else ip_address(value)


def cidr(value: Any) -> str:
    """A network in CIDR form, host bits zero (`10.0.0.1/24` is refused as Neutron does)."""
    if not isinstance(value, str) or "/" not in value:
        raise Invalid(f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP subnet") from None
    if ipaddress.ip_interface(value).ip != net.network_address:
        raise Invalid(f"'{value}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    return str(net)


def ip_or_cidr(value: Any) -> str:
    """An address or a network (allowed address pairs take both)."""
    if isinstance(value, str) and "/" in value:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            pass
        raise Invalid(f"'{value}' is not a valid IP subnet")
    return ip_address(value)


def mac_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC_RE.match(value):
        raise Invalid(f"'{value}' is not a valid MAC address")
    normalized = value.lower().replace("-", ":")
    if normalized == "00:00:00:00:00:00" or int(normalized[:2], 16) & 1:
        raise Invalid(f"'{value}' is not a valid MAC address")
    return normalized


def list_of(item: Check, *, unique: bool = False, what: str = "list") -> Check:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid(f"'{value}' is not a {what}")
        converted = [item(v) for v in value]
        if unique:
            seen: list[Any] = []
            for v in converted:
                if v in seen:
                    raise Invalid(f"Duplicate items in the list: '{v}'")
                seen.append(v)
        return converted
    return check


def dict_with(keys: dict[str, tuple[Check, bool]]) -> Check:
    """A dict whose keys are all known; (check, required) per key."""
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"'{value}' is not a dictionary")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise Invalid(f"Unexpected keys supplied: {', '.join(unknown)}")
        out: dict[str, Any] = {}
        for key, (key_check, required) in keys.items():
            if key in value:
                out[key] = key_check(value[key])
            elif required:
                raise Invalid(f"Validation of dictionary's keys failed. Expected keys: "
                              f"{set(k for k, (_, r) in keys.items() if r)} Provided keys: "
                              f"{set(value)}")
        return out
    return check


def any_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"'{value}' is not a dictionary")
    return value


def tag(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > _TAG_MAX or "," in value:
        raise Invalid(f"'{value}' is not a valid tag")
    return value
