"""Microversions for any API: `OpenStack-API-Version: <service type> X.Y` (and optionally a
legacy header), parsed once per request and echoed on every response, errors included.

    VOLUME = Microversions("volume", minimum=(3, 0), maximum=(3, 60))
    COMPUTE = Microversions("compute", minimum=(2, 1), maximum=(2, 79),
                            legacy_header="X-OpenStack-Nova-API-Version")
    app = create_app(..., response_headers=VOLUME.response_headers)
    Version = Annotated[tuple[int, int], Depends(VOLUME.dependency)]

Shapes that change with the version live in views and schemas as data keyed on the version.
"""

from __future__ import annotations

import dataclasses

from fastapi import Request
from starlette.types import Scope

from nimbus.core import errors
from nimbus.core.http import parse_microversion

_HEADER = b"openstack-api-version"
_STATE_KEY = "microversion"


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

    def response_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The version served, with `Vary`, for every response of a valid request; the version
        is kept in the scope's state for `dependency`. An invalid one gets nothing here: the
        route's dependency renders the error."""
        try:
            version = self.requested(scope)
        except errors.NimbusError:
            return []
        scope.setdefault("state", {})[_STATE_KEY] = version
        served = as_text(version)
        headers = [(_HEADER, f"{self.service_type} {served}".encode())]
        vary = "OpenStack-API-Version"
        if self.legacy_header:
            headers.append((self.legacy_header.lower().encode(), served.encode()))
            vary += f", {self.legacy_header}"
        headers.append((b"vary", vary.encode()))
        return headers

    async def dependency(self, request: Request) -> tuple[int, int]:
        version = request.scope.get("state", {}).get(_STATE_KEY)
        return version if isinstance(version, tuple) else self.requested(request.scope)
