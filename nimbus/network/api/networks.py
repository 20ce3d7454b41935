"""`/v2.0/networks`: create (one or bulk), list, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import networks

router = APIRouter(prefix="/v2.0/networks")


@router.post("")
async def create_networks(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await networks.create_networks(deps, ctx, await json_body(request))
    shaped = views.shape_all(deps, ctx, "network", created)
    body = {"networks": shaped} if bulk else {"network": shaped[0]}
    return OrjsonResponse(body, status_code=201)


@router.get("")
async def list_networks(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "network", networks.list_networks)


@router.get("/{network_id}")
async def show_network(network_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    network = await networks.get_network(deps, ctx, network_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"network": views.shape(deps, ctx, "network", network, fields)}


@router.put("/{network_id}")
async def update_network(network_id: str, request: Request, deps: Deps,
                         ctx: Ctx) -> dict[str, Any]:
    network = await networks.update_network(deps, ctx, network_id, await json_body(request))
    return {"network": views.shape(deps, ctx, "network", network)}


@router.delete("/{network_id}", status_code=204)
async def delete_network(network_id: str, deps: Deps, ctx: Ctx) -> Response:
    await networks.delete_network(deps, ctx, network_id)
    return Response(status_code=204)
