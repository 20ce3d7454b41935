"""Placement microversions: `OpenStack-API-Version: placement X.Y` (or `latest`), echoed on
every response with `Vary`, as Placement does. Shapes that change with the version live in
views.py and schemas.py as data keyed on the version."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.core import errors as core_errors
from nimbus.core.http import parse_microversion
from nimbus.placement import errors
from nimbus.placement.api.faults import current, render

MIN_VERSION = (1, 0)
# Advertise only what every route honours at every version in the range.
MAX_VERSION = (1, 39)


def as_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _header(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == b"openstack-api-version":
            return str(value.decode("latin-1"))
    return None


class MicroversionMiddleware:
    """Parses the version once per request; a bad one is answered here (406 names the range)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            version = parse_microversion(_header(scope), "placement", minimum=MIN_VERSION,
                                         maximum=MAX_VERSION)
        except core_errors.NotAcceptable as exc:
            await render(errors.VersionNotAcceptable(detail=exc.message), None,
                         extra={"max_version": as_text(MAX_VERSION),
                                "min_version": as_text(MIN_VERSION)})(scope, receive, send)
            return
        except core_errors.NimbusError as exc:
            await render(exc, None)(scope, receive, send)
            return
        scope.setdefault("state", {})["placement_version"] = version
        echoed = [(b"openstack-api-version", f"placement {as_text(version)}".encode()),
                  (b"vary", b"openstack-api-version")]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *echoed]}
            await send(message)

        token = current.set(version)
        try:
            await self.app(scope, receive, send_with_version)
        finally:
            current.reset(token)


async def get_version(request: Request) -> tuple[int, int]:
    version = request.scope.get("state", {}).get("placement_version", MIN_VERSION)
    assert isinstance(version, tuple)
    return version


Version = Annotated[tuple[int, int], Depends(get_version)]


def require(version: tuple[int, int], minimum: tuple[int, int], status: int = 404) -> None:
    """Routes that appear at a microversion answer 404 (or 405) below it, as Placement does."""
    if version < minimum:
        raise core_errors.error_for_status(status, "The resource could not be found."
                                           if status == 404 else "The method is not allowed "
                                           "for this resource.")
