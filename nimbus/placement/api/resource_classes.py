"""`/resource_classes[/{name}]` (from 1.2; PUT creates from 1.7, renamed before)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import schemas, views
from nimbus.placement.api.common import absolute, empty, json_body, prefix, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import resource_classes

router = APIRouter(prefix="/resource_classes")


@router.get("")
async def list_classes(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 2))
    found = await resource_classes.list_resource_classes(deps, ctx)
    return respond({"resource_classes": [views.resource_class(rc.name, prefix(request))
                                         for rc in found]}, version)


@router.post("")
async def create_class(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 2))
    body = schemas.parse(schemas.ResourceClassBody, await json_body(request))
    await resource_classes.create_resource_class(deps, ctx, body.name)
    return empty(201, version, location=absolute(request, f"/resource_classes/{body.name}"))


@router.get("/{name}")
async def show_class(name: str, request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 2))
    found = await resource_classes.get_resource_class(deps, ctx, name)
    return respond(views.resource_class(found.name, prefix(request)), version,
                   last_modified=found.created_at)


@router.put("/{name}")
async def put_class(name: str, request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 2))
    if version >= (1, 7):
        created = await resource_classes.ensure_resource_class(deps, ctx, name)
        return empty(201 if created else 204, version, cache=True,
                     location=absolute(request, f"/resource_classes/{name}"))
    body = schemas.parse(schemas.ResourceClassBody, await json_body(request))
    renamed = await resource_classes.rename_resource_class(deps, ctx, name, body.name)
    return respond(views.resource_class(renamed.name, prefix(request)), version)


@router.delete("/{name}")
async def delete_class(name: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 2))
    await resource_classes.delete_resource_class(deps, ctx, name)
    return Response(status_code=204)
