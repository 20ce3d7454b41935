"""Version discovery: `/` lists v3 (300 Multiple Choices), `/v3` describes it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.core.http import OrjsonResponse, service_url

router = APIRouter()

_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _v3(request: Request) -> dict[str, Any]:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{service_url(request)}/v3/"}],
            "media-types": _MEDIA}


@router.get("/")
async def list_versions(request: Request) -> OrjsonResponse:
    return OrjsonResponse({"versions": {"values": [_v3(request)]}}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
async def show_v3(request: Request) -> dict[str, Any]:
    return {"version": _v3(request)}
