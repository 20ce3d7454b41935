"""`/v2.0/routers`: CRUD, `add_router_interface`/`remove_router_interface`, and
`add_extraroutes`/`remove_extraroutes`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import router_interfaces, routers

router = APIRouter(prefix="/v2.0/routers")


@router.post("")
async def create_routers(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await routers.create_routers(deps, ctx, await json_body(request))
    body = {"routers": created} if bulk else {"router": created[0]}
    return OrjsonResponse(body, status_code=201)


@router.get("")
async def list_routers(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "router", routers.list_routers)


@router.get("/{router_id}")
async def show_router(router_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    found = await routers.get_router(deps, ctx, router_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"router": views.shape(deps, ctx, "router", found, fields)}


@router.put("/{router_id}")
async def update_router(router_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"router": await routers.update_router(deps, ctx, router_id, await json_body(request))}


@router.delete("/{router_id}", status_code=204)
async def delete_router(router_id: str, deps: Deps, ctx: Ctx) -> Response:
    await routers.delete_router(deps, ctx, router_id)
    return Response(status_code=204)


@router.put("/{router_id}/add_router_interface")
async def add_router_interface(router_id: str, request: Request, deps: Deps,
                               ctx: Ctx) -> dict[str, Any]:
    return await router_interfaces.add_router_interface(deps, ctx, router_id,
                                                        await json_body(request))


@router.put("/{router_id}/remove_router_interface")
async def remove_router_interface(router_id: str, request: Request, deps: Deps,
                                  ctx: Ctx) -> dict[str, Any]:
    return await router_interfaces.remove_router_interface(deps, ctx, router_id,
                                                           await json_body(request))


@router.put("/{router_id}/add_extraroutes")
async def add_extraroutes(router_id: str, request: Request, deps: Deps,
                          ctx: Ctx) -> dict[str, Any]:
    return {"router": await routers.change_routes(deps, ctx, router_id,
                                                  await json_body(request), add=True)}


@router.put("/{router_id}/remove_extraroutes")
async def remove_extraroutes(router_id: str, request: Request, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
    return {"router": await routers.change_routes(deps, ctx, router_id,
                                                  await json_body(request), add=False)}
