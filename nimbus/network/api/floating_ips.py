"""`/v2.0/floatingips`: create, list, show, update (associate, disassociate), delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import floating_ips

router = APIRouter(prefix="/v2.0/floatingips")


@router.post("")
async def create_floating_ip(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created = await floating_ips.create_floating_ip(deps, ctx, await json_body(request))
    return OrjsonResponse({"floatingip": created}, status_code=201)


@router.get("")
async def list_floating_ips(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "floatingip", floating_ips.list_floating_ips)


@router.get("/{fip_id}")
async def show_floating_ip(fip_id: str, request: Request, deps: Deps,
                           ctx: Ctx) -> dict[str, Any]:
    found = await floating_ips.get_floating_ip(deps, ctx, fip_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"floatingip": views.shape(deps, ctx, "floatingip", found, fields)}


@router.put("/{fip_id}")
async def update_floating_ip(fip_id: str, request: Request, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
    return {"floatingip": await floating_ips.update_floating_ip(deps, ctx, fip_id,
                                                                await json_body(request))}


@router.delete("/{fip_id}", status_code=204)
async def delete_floating_ip(fip_id: str, deps: Deps, ctx: Ctx) -> Response:
    await floating_ips.delete_floating_ip(deps, ctx, fip_id)
    return Response(status_code=204)
