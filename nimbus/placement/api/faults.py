"""Placement's error body: `{"errors": [{"status", "title", "detail", "code", "request_id"}]}`;
`code` appears from microversion 1.23, as in Placement."""

from __future__ import annotations

import contextvars
from typing import Any

from fastapi.responses import Response

from nimbus.core import errors as core_errors
from nimbus.core.context import request_id_var
from nimbus.core.http import OrjsonResponse
from nimbus.placement import errors

# The version of the request being served, for the renderer (which sees no request).
current: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "placement_microversion", default=None)


def render(exc: core_errors.NimbusError, version: tuple[int, int] | None,
           extra: dict[str, Any] | None = None) -> Response:
    error: dict[str, Any] = {"status": exc.status, "title": exc.title, "detail": exc.message}
    if version is not None and version >= (1, 23):
        error["code"] = errors.code_of(exc)
    request_id = request_id_var.get()
    if request_id:
        error["request_id"] = request_id
    error.update(extra or {})
    return OrjsonResponse({"errors": [error]}, status_code=exc.status)


def placement_error_body(exc: core_errors.NimbusError) -> Response:
    """The renderer handed to `create_app`: the version comes from the request being served."""
    return render(exc, current.get())
