"""`/v2.0/auto-allocated-topology/{project_id}`: get (creating it), `?fields=dry-run`, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.network import views
from nimbus.network.deps import Deps
from nimbus.network.service import auto_allocation

router = APIRouter(prefix="/v2.0/auto-allocated-topology")


@router.get("/{project_id}")
async def show_topology(project_id: str, request: Request, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"auto_allocated_topology": await auto_allocation.get_topology(
        deps, ctx, project_id, fields)}


@router.delete("/{project_id}", status_code=204)
async def delete_topology(project_id: str, deps: Deps, ctx: Ctx) -> Response:
    await auto_allocation.delete_topology(deps, ctx, project_id)
    return Response(status_code=204)
