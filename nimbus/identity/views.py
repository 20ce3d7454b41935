"""Shapes shared by identity's responses: links and list envelopes."""

from __future__ import annotations

from typing import Any

from fastapi import Request

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
