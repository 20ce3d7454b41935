"""Shapes shared by identity's responses: links and list envelopes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from nimbus.core import errors
from nimbus.core.http import service_url


def v3_url(request: Request, path: str) -> str:
    """Absolute URL of a v3 resource path such as `users/<id>`."""
    return f"{service_url(request)}/v3/{path.lstrip('/')}"


def self_links(request: Request, path: str) -> dict[str, str]:
    return {"self": v3_url(request, path)}


def collection(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Keystone's list envelope: the items plus self/previous/next links."""
    url = str(request.url)
    return {key: items, "links": {"self": url, "previous": None, "next": None}}


def member(request: Request, collection_path: str, ref: dict[str, Any]) -> dict[str, Any]:
    """A resource as Keystone shows it: its attributes plus `links.self`."""
    return {**ref, "links": self_links(request, f"{collection_path}/{ref['id']}")}


def members(request: Request, key: str, collection_path: str,
            refs: list[dict[str, Any]]) -> dict[str, Any]:
    """A list envelope whose members each carry `links.self`."""
    return collection(request, key, [member(request, collection_path, r) for r in refs])


def query_bool(value: str | None) -> bool | None:
    """A boolean query filter as Keystone reads it: 0/false/no/off are false, anything else
    (an empty value too) is true; None when absent."""
    if value is None:
        return None
    return value.strip().lower() not in ("0", "f", "false", "n", "no", "off")


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


async def reject_nul(request: Request) -> None:
    """A router dependency: 400 for a NUL character in the path, query or JSON body.

    PostgreSQL can neither store nor compare text holding NUL (the driver fails, which would
    be a 500); no identity attribute may contain one, so refuse it before any query.
    """
    values = [*request.path_params.values(), *request.query_params.keys(),
              *request.query_params.values()]
    found = any("\x00" in str(v) for v in values)
    if not found and request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if b"\\u0000" in body:
            try:
                found = _holds_nul(json.loads(body))
            except ValueError:
                found = False
    if found:
        raise errors.BadRequest("Invalid input: NUL characters are not allowed.")
