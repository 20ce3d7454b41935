"""`POST /reshaper` (from 1.30)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import schemas
from nimbus.placement.api import convert
from nimbus.placement.api.common import json_body
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import reshaper

router = APIRouter()


@router.post("/reshaper")
async def reshape(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 30))
    body = schemas.parse(schemas.reshaper_model(version), await json_body(request))
    inventories = {uuid: (entry.resource_provider_generation,
                          {rc: convert.spec(f) for rc, f in entry.inventories.items()})
                   for uuid, entry in body.inventories.items()}
    claims = [convert.claim(consumer, entry, version) for consumer, entry in body.allocations.items()]
    await reshaper.reshape(deps, ctx, inventories, claims,
                           reserved_may_equal_total=version >= (1, 26))
    return Response(status_code=204)
