"""Version discovery: `/` answers 300 Multiple Choices, `/versions` 200, with the same list.

The versions listed are those whose features Nimbus serves: multiple stores (2.8), tasks of
an image (2.12), store details (2.13) and usage (2.15); not the cache API (2.14, 2.16) nor the
new locations API (2.17).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.core.http import OrjsonResponse, service_url

router = APIRouter()

CURRENT = "2.15"
SUPPORTED = ("2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3",
             "2.2", "2.1", "2.0")


def _versions(request: Request) -> dict[str, Any]:
    href = f"{service_url(request)}/v2/"
    values = [{"id": f"v{v}", "status": "CURRENT" if v == CURRENT else "SUPPORTED",
               "links": [{"rel": "self", "href": href}]} for v in (CURRENT, *SUPPORTED)]
    return {"versions": values}


@router.get("/")
async def list_versions(request: Request) -> OrjsonResponse:
    return OrjsonResponse(_versions(request), status_code=300)


@router.get("/versions")
async def show_versions(request: Request) -> dict[str, Any]:
    return _versions(request)
