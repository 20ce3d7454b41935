"""Version discovery: `GET /compute/` and `GET /compute/v2.1` (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.compute.api.versioning import MAX_VERSION, MIN_VERSION
from nimbus.core.http import service_url
from nimbus.core.microversions import as_text

router = APIRouter()

_UPDATED = "2013-07-23T11:33:21Z"


def _v21(request: Request) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": as_text(MAX_VERSION),
            "min_version": as_text(MIN_VERSION), "updated": _UPDATED,
            "links": [{"rel": "self", "href": f"{service_url(request)}/v2.1/"}]}


@router.get("/")
async def list_versions(request: Request) -> dict[str, Any]:
    return {"versions": [_v21(request)]}


@router.get("/v2.1")
@router.get("/v2.1/")
async def show_version(request: Request) -> dict[str, Any]:
    version = _v21(request)
    version["media-types"] = [{"base": "application/json",
                               "type": "application/vnd.openstack.compute+json;version=2.1"}]
    version["links"].append({"rel": "describedby", "type": "text/html",
                             "href": "https://docs.openstack.org/"})
    return {"version": version}
