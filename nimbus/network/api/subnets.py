"""`/v2.0/subnets`: create (one or bulk), list, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import subnets

router = APIRouter(prefix="/v2.0/subnets")


@router.post("")
async def create_subnets(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await subnets.create_subnets(deps, ctx, await json_body(request))
    shaped = views.shape_all(deps, ctx, "subnet", created)
    body = {"subnets": shaped} if bulk else {"subnet": shaped[0]}
    return OrjsonResponse(body, status_code=201)


@router.get("")
async def list_subnets(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "subnet", subnets.list_subnets)


@router.get("/{subnet_id}")
async def show_subnet(subnet_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    subnet = await subnets.get_subnet(deps, ctx, subnet_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"subnet": views.shape(deps, ctx, "subnet", subnet, fields)}


@router.put("/{subnet_id}")
async def update_subnet(subnet_id: str, request: Request, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    subnet = await subnets.update_subnet(deps, ctx, subnet_id, await json_body(request))
    return {"subnet": views.shape(deps, ctx, "subnet", subnet)}


@router.delete("/{subnet_id}", status_code=204)
async def delete_subnet(subnet_id: str, deps: Deps, ctx: Ctx) -> Response:
    await subnets.delete_subnet(deps, ctx, subnet_id)
    return Response(status_code=204)
