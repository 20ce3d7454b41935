"""Request plumbing shared by image's routers: JSON bodies, streamed bodies, sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from nimbus.core import errors as core_errors
from nimbus.image import errors

# Image metadata bodies are small; anything bigger is refused before it is read.
MAX_JSON_BODY = 1 << 20


async def json_body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise core_errors.OverLimit(f"Request body larger than {MAX_JSON_BODY} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise core_errors.OverLimit(f"Request body larger than {MAX_JSON_BODY} bytes.")
    if not raw.strip():
        raise errors.InvalidImage(detail="Body expected in request.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.InvalidImage(detail="Malformed JSON in request body.") from None


def declared_size(request: Request) -> int | None:
    """x-openstack-image-size if given, else Content-Length; None for a chunked body."""
    for header in ("x-openstack-image-size", "content-length"):
        value = request.headers.get(header)
        if value is not None:
            try:
                size = int(value)
            except ValueError:
                raise errors.InvalidImage(
                    detail="Invalid or missing image size in request headers.") from None
            if size < 0:
                raise errors.InvalidImage(detail="Invalid or missing image size in request headers.")
            return size
    return None


async def body_chunks(request: Request, image_id: str) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away becomes UploadInterrupted."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise errors.UploadInterrupted(image_id=image_id) from None
