"""Compute microversions: `OpenStack-API-Version: compute X.Y` or the legacy
`X-OpenStack-Nova-API-Version: X.Y`; the version served is echoed in both, with `Vary`.

Shapes that change with the version live in views.py and schemas.py as data keyed on the
version, never as decorators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.core import errors
from nimbus.core.http import parse_microversion

MIN_VERSION = (2, 1)
# Advertise only what every route honours at every version in the range.
MAX_VERSION = (2, 79)

_HEADER = b"openstack-api-version"
_LEGACY = b"x-openstack-nova-api-version"


def as_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested(scope: Scope) -> tuple[int, int]:
    """The version a request asks for; raises BadRequest/NotAcceptable when it cannot be served."""
    headers = dict(scope.get("headers") or [])
    raw = headers.get(_HEADER) or headers.get(_LEGACY)
    return parse_microversion(raw.decode("latin-1") if raw else None, "compute",
                              minimum=MIN_VERSION, maximum=MAX_VERSION)


class MicroversionHeaders:
    """Echoes the version served on every response, errors included, as Nova does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            version: str | None = as_text(requested(scope))
        except errors.NimbusError:  # the route's dependency renders the error; no header to echo
            version = None

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start" and version is not None:
                headers = list(message.get("headers", []))
                headers += [(b"openstack-api-version", f"compute {version}".encode()),
                            (b"x-openstack-nova-api-version", version.encode()),
                            (b"vary", b"OpenStack-API-Version, X-OpenStack-Nova-API-Version")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


async def get_version(request: Request) -> tuple[int, int]:
    return requested(request.scope)


Version = Annotated[tuple[int, int], Depends(get_version)]
