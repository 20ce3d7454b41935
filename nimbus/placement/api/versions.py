"""`GET /`: the one major version and its microversion range (public, for discovery)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from nimbus.placement.api.common import respond
from nimbus.placement.api.microversion import MAX_VERSION, MIN_VERSION, Version, as_text

router = APIRouter()


@router.get("/")
async def root(version: Version) -> Response:
    return respond({"versions": [{
        "id": f"v{as_text(MIN_VERSION)}", "min_version": as_text(MIN_VERSION),
        "max_version": as_text(MAX_VERSION), "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]}, version)
