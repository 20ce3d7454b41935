"""Version discovery: `GET /volume/`, `GET /volume/v3/` (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from nimbus.core.http import service_url
from nimbus.core.microversions import as_text
from nimbus.volume.api.common import MICROVERSIONS

router = APIRouter()

_UPDATED = "2023-08-31T00:00:00Z"
_MEDIA = [{"base": "application/json",
           "type": "application/vnd.openstack.volume+json;version=3"}]


def _v3(request: Request) -> dict[str, Any]:
    return {"id": "v3.0", "status": "CURRENT", "version": as_text(MICROVERSIONS.maximum),
            "min_version": as_text(MICROVERSIONS.minimum), "updated": _UPDATED,
            "media-types": _MEDIA,
            "links": [{"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{service_url(request)}/v3/"}]}


@router.get("/")
async def list_versions(request: Request) -> JSONResponse:
    # Cinder answers its version list with 300 Multiple Choices.
    return JSONResponse({"versions": [_v3(request)]}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
async def show_version(request: Request) -> dict[str, Any]:
    return {"versions": [_v3(request)]}
