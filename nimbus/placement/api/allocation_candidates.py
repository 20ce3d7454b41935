"""`GET /allocation_candidates` (from 1.10)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import views
from nimbus.placement.api import query
from nimbus.placement.api.common import respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import candidates

router = APIRouter()


@router.get("/allocation_candidates")
async def list_candidates(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 10))
    wanted = query.candidate_query(request, version)
    found, summaries = await candidates.find_candidates(deps, ctx, wanted)
    return respond(views.candidates(found, summaries, version), version)
