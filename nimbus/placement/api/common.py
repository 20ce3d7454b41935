"""Helpers every placement router uses: responses with the 1.15 caching headers, body and
query-string checks."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from nimbus.core import errors as core_errors
from nimbus.core.http import OrjsonResponse, service_url
from nimbus.placement import errors


def respond(body: Any, version: tuple[int, int], *, status: int = 200,
            last_modified: dt.datetime | None = None, location: str | None = None) -> Response:
    """JSON with, from 1.15, `cache-control: no-cache` and `last-modified` (now if unknown)."""
    response = OrjsonResponse(body, status_code=status)
    _decorate(response, version, last_modified, location)
    return response


def empty(status: int, version: tuple[int, int], *, location: str | None = None,
          last_modified: dt.datetime | None = None, cache: bool = False) -> Response:
    response = Response(status_code=status)
    if cache:
        _decorate(response, version, last_modified, location)
    elif location:
        response.headers["location"] = location
    return response


def _decorate(response: Response, version: tuple[int, int], last_modified: dt.datetime | None,
              location: str | None) -> None:
    if location:
        response.headers["location"] = location
    if version >= (1, 15):
        when = (last_modified or dt.datetime.now(dt.UTC)).replace(tzinfo=dt.UTC, microsecond=0)
        response.headers["cache-control"] = "no-cache"
        response.headers["last-modified"] = email.utils.format_datetime(when, usegmt=True)


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def prefix(request: Request) -> str:
    """The mount point, for Placement's relative links (`/placement/resource_providers/...`)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def absolute(request: Request, path: str) -> str:
    """Location headers are absolute, so that clients joining them to the endpoint work."""
    return f"{service_url(request)}{path}"


async def json_body(request: Request) -> bytes:
    """The body of a request that must be JSON (415 otherwise, as Placement)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise core_errors.UnsupportedMediaType(
            f"The media type {content_type or 'None'} is not supported, use application/json")
    return await request.body()


def check_query(request: Request, allowed: Iterable[str]) -> None:
    """Unknown query parameters are 400, as Placement's query schemas say."""
    known = set(allowed)
    for key in request.query_params:
        if key not in known:
            raise errors.InvalidInput(detail="Invalid query string parameters: Additional "
                                             f"properties are not allowed ('{key}' was unexpected)")
