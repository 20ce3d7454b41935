"""`/v2.0/ports`: create (one or bulk), list, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import ports

router = APIRouter(prefix="/v2.0/ports")


@router.post("")
async def create_ports(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await ports.create_ports(deps, ctx, await json_body(request))
    shaped = views.shape_all(deps, ctx, "port", created)
    body = {"ports": shaped} if bulk else {"port": shaped[0]}
    return OrjsonResponse(body, status_code=201)


@router.get("")
async def list_ports(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "port", ports.list_ports)


@router.get("/{port_id}")
async def show_port(port_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    port = await ports.get_port(deps, ctx, port_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"port": views.shape(deps, ctx, "port", port, fields)}


@router.put("/{port_id}")
async def update_port(port_id: str, request: Request, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    port = await ports.update_port(deps, ctx, port_id, await json_body(request))
    return {"port": views.shape(deps, ctx, "port", port)}


@router.delete("/{port_id}", status_code=204)
async def delete_port(port_id: str, deps: Deps, ctx: Ctx) -> Response:
    await ports.delete_port(deps, ctx, port_id)
    return Response(status_code=204)
