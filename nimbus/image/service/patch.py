"""Glance's JSON-patch dialects for `PATCH /v2/images/{id}`.

`application/openstack-images-v2.1-json-patch` is RFC 6902's add/remove/replace with one-level
paths (`/name`, `/tags`, `/hw_disk_bus`); the deprecated v2.0 type is the draft-4 shape
(`{"replace": "/name", "value": ...}`) where `add` of an existing attribute is a conflict.
Parsing checks the document alone (400/403 before the image is even looked up, as Glance
does); `apply` changes a working copy of the image.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from nimbus.image import errors
from nimbus.image.schemas import (
    BASE_ATTRIBUTES,
    READ_ONLY,
    RESERVED,
    RESERVED_PREFIXES,
    check_value,
)

MEDIA_TYPES = {"application/openstack-images-v2.1-json-patch": 10,
               "application/openstack-images-v2.0-json-patch": 4}
OPERATIONS = ("add", "remove", "replace")


@dataclasses.dataclass(frozen=True)
class Change:
    op: str
    name: str
    value: Any = None
    draft: int = 10


def parse(body: Any, draft: int) -> list[Change]:
    if not isinstance(body, list):
        raise errors.InvalidPatch(detail="Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise errors.InvalidPatch(detail="Operations must be JSON objects.")
        op, pointer = _op_and_path_d10(raw) if draft == 10 else _op_and_path_d4(raw)
        path = _decode_pointer(pointer)
        if path[0] == "locations":
            raise errors.LocationsHidden()
        if len(path) != 1:
            raise errors.InvalidPatch(
                detail=f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        name = path[0]
        if op != "remove" and "value" not in raw:
            raise errors.InvalidPatch(detail=f'Operation "{op}" requires a member named "value".')
        change = Change(op=op, name=name, value=raw.get("value"), draft=draft)
        _check_change(change)
        changes.append(change)
    return changes


def _op_and_path_d10(raw: dict[str, Any]) -> tuple[str, str]:
    op = raw.get("op")
    available = ", ".join(OPERATIONS)
    if op is None:
        raise errors.InvalidPatch(detail="Unable to find `op` in JSON Schema change. "
                                         f"It must be one of the following: {available}.")
    if op not in OPERATIONS:
        raise errors.InvalidPatch(detail=f"Invalid operation: `{op}`. "
                                         f"It must be one of the following: {available}.")
    path = raw.get("path")
    if not isinstance(path, str):
        raise errors.InvalidPatch(detail="Unable to find 'path' in JSON Schema change")
    return op, path


def _op_and_path_d4(raw: dict[str, Any]) -> tuple[str, str]:
    ops = [op for op in OPERATIONS if op in raw]
    if len(ops) != 1:
        raise errors.InvalidPatch(detail='Operation objects must contain exactly one member '
                                         'named "add", "remove", or "replace".')
    path = raw[ops[0]]
    if not isinstance(path, str):
        raise errors.InvalidPatch(detail="The path of an operation must be a string.")
    return ops[0], path


def _decode_pointer(pointer: str) -> list[str]:
    """RFC 6901 pointers, restricted as Glance restricts them."""
    if not pointer.startswith("/"):
        raise errors.InvalidPatch(detail=f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise errors.InvalidPatch(detail=f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise errors.InvalidPatch(detail=f'Pointer `{pointer}` end with "/".')
    if pointer == "/":
        raise errors.InvalidPatch(detail=f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise errors.InvalidPatch(
            detail=f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.')
    return [part.replace("~1", "/").replace("~0", "~").strip()
            for part in pointer[1:].split("/")]


def _check_change(change: Change) -> None:
    name = change.name
    if name in READ_ONLY:
        raise errors.ReadOnlyAttribute(name=name)
    if name in RESERVED or name.startswith(RESERVED_PREFIXES):
        raise errors.ReservedAttribute(name=name)
    if len(name) > 255:
        raise errors.InvalidPatch(detail="Custom property should not be greater than 255 "
                                         "characters.")
    if change.op == "remove":
        return
    if problem := check_value(name, change.value):
        raise errors.InvalidPatch(detail=f"Provided object does not match schema 'image': "
                                         f"{problem}")


def apply(attrs: dict[str, Any], props: dict[str, str], changes: list[Change]) -> None:
    """Apply `changes` to the image's base attributes and extra properties, in place.

    Conflicts follow Glance: replacing or removing a property that does not exist is 409;
    removing a base attribute is 403.
    """
    for change in changes:
        base = change.name in BASE_ATTRIBUTES
        exists = change.name in attrs if base else change.name in props
        if change.op == "remove":
            if base:
                raise errors.AttributeNotRemovable(name=change.name)
            if not exists:
                raise errors.PropertyConflict(detail=f"Property {change.name} does not exist.")
            del props[change.name]
        elif change.op == "replace" and not exists:
            raise errors.PropertyConflict(detail=f"Property {change.name} does not exist.")
        elif change.op == "add" and change.draft == 4 and exists:
            raise errors.PropertyConflict(detail=f"Property {change.name} already present.")
        elif base:
            attrs[change.name] = change.value
        else:
            props[change.name] = change.value
