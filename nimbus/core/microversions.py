"""Microversions for any API: `OpenStack-API-Version: <service type> X.Y` (and optionally a
legacy header), parsed once per request and echoed on every response, errors included.

    VOLUME = Microversions("volume", minimum=(3, 0), maximum=(3, 60))
    COMPUTE = Microversions("compute", minimum=(2, 1), maximum=(2, 79),
                            legacy_header="X-OpenStack-Nova-API-Version")
    app.add_middleware(MicroversionHeaders, versions=VOLUME)
    Version = Annotated[tuple[int, int], Depends(VOLUME.dependency)]

Shapes that change with the version live in views and schemas as data keyed on the version.
"""

from __future__ import annotations

import dataclasses

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.core import errors
from nimbus.core.http import parse_microversion

_HEADER = b"openstack-api-version"


def as_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


@dataclasses.dataclass(frozen=True)
class Microversions:
    service_type: str
    minimum: tuple[int, int]
    # Advertise only what every route honours at every version in the range.
    maximum: tuple[int, int]
    # A service's pre-standard header carrying just the number (Nova's, say), spelled as
    # `Vary` names it.
    legacy_header: str | None = None

    def requested(self, scope: Scope) -> tuple[int, int]:
        """The version a request asks for; BadRequest/NotAcceptable when it cannot be served."""
        headers = dict(scope.get("headers") or [])
        raw = headers.get(_HEADER)
        if not raw and self.legacy_header:
            raw = headers.get(self.legacy_header.lower().encode())
        return parse_microversion(raw.decode("latin-1") if raw else None, self.service_type,
                                  minimum=self.minimum, maximum=self.maximum)

    async def dependency(self, request: Request) -> tuple[int, int]:
        return self.requested(request.scope)


class MicroversionHeaders:
    """Echoes the version served, with `Vary`, on every response of a valid request."""

    def __init__(self, app: ASGIApp, versions: Microversions) -> None:
        self.app = app
        self.versions = versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            served: str | None = as_text(self.versions.requested(scope))
        except errors.NimbusError:  # the route's dependency renders the error; nothing to echo
            served = None
        service_type = self.versions.service_type
        legacy = self.versions.legacy_header

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start" and served is not None:
                headers = list(message.get("headers", []))
                headers.append((_HEADER, f"{service_type} {served}".encode()))
                vary = "OpenStack-API-Version"
                if legacy:
                    headers.append((legacy.lower().encode(), served.encode()))
                    vary += f", {legacy}"
                headers.append((b"vary", vary.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)
