"""`/resource_providers/{uuid}/inventories[/{resource_class}]`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import schemas, views
from nimbus.placement.api import convert
from nimbus.placement.api.common import absolute, json_body, latest, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import inventories

router = APIRouter(prefix="/resource_providers/{uuid}/inventories")


@router.get("")
async def list_inventories(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    provider, found = await inventories.get_inventories(deps, ctx, uuid)
    return respond(views.inventories(provider.generation, found), version,
                   last_modified=latest(*(i.updated_at for i in found)))


@router.put("")
async def set_inventories(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                          version: Version) -> Response:
    body = schemas.parse(schemas.InventoriesPut, await json_body(request))
    generation, found = await inventories.set_inventories(
        deps, ctx, uuid, body.resource_provider_generation,
        {rc: convert.spec(f) for rc, f in body.inventories.items()},
        reserved_may_equal_total=version >= (1, 26))
    return respond(views.inventories(generation, found), version,
                   last_modified=latest(*(i.updated_at for i in found)))


@router.post("")
async def create_inventory(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                           version: Version) -> Response:
    body = schemas.parse(schemas.InventoryCreate, await json_body(request))
    generation, created = await inventories.create_inventory(
        deps, ctx, uuid, body.resource_class, convert.spec(body),
        reserved_may_equal_total=version >= (1, 26))
    return respond(views.one_inventory(generation, created), version, status=201,
                   last_modified=created.updated_at,
                   location=absolute(request, f"/resource_providers/{uuid}/inventories/"
                                              f"{body.resource_class}"))


@router.delete("")
async def delete_inventories(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 5), status=405)
    await inventories.delete_inventory(deps, ctx, uuid, None)
    return Response(status_code=204)


@router.get("/{resource_class}")
async def show_inventory(uuid: str, resource_class: str, deps: Deps, ctx: Ctx,
                         version: Version) -> Response:
    provider, found = await inventories.get_inventory(deps, ctx, uuid, resource_class)
    return respond(views.one_inventory(provider.generation, found), version,
                   last_modified=found.updated_at)


@router.put("/{resource_class}")
async def update_inventory(uuid: str, resource_class: str, request: Request, deps: Deps,
                           ctx: Ctx, version: Version) -> Response:
    body = schemas.parse(schemas.InventoryWithGeneration, await json_body(request))
    generation, found = await inventories.update_inventory(
        deps, ctx, uuid, resource_class, body.resource_provider_generation, convert.spec(body),
        reserved_may_equal_total=version >= (1, 26))
    return respond(views.one_inventory(generation, found), version, last_modified=found.updated_at)


@router.delete("/{resource_class}")
async def delete_inventory(uuid: str, resource_class: str, deps: Deps, ctx: Ctx) -> Response:
    await inventories.delete_inventory(deps, ctx, uuid, resource_class)
    return Response(status_code=204)
