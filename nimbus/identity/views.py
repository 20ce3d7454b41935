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
