"""`/limits`: absolute limits and usage of the caller's project (`tenant_id` for admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.service import limits
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/limits")


@router.get("")
async def show_limits(request: Request, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    if version >= (2, 75):
        params.reject_unknown(request, ("tenant_id",))
    found = await limits.get_limits(deps, ctx, request.query_params.get("tenant_id"))
    return views.limits(found, version)
