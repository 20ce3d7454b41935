"""`/traits[/{name}]` and `/resource_providers/{uuid}/traits` (from 1.6)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import errors, schemas
from nimbus.placement.api.common import absolute, check_query, empty, json_body, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import traits
from nimbus.placement.service.traits import TraitFilter

router = APIRouter()


def _filter(request: Request) -> TraitFilter:
    check_query(request, ("name", "associated"))
    q = request.query_params
    names: frozenset[str] | None = None
    prefix: str | None = None
    if "name" in q:
        op, sep, value = q["name"].partition(":")
        if not sep or op not in ("in", "startswith"):
            raise errors.InvalidInput(detail="Badly formatted name parameter. Expected name query "
                                             "string parameter in form: ?name=[in|startswith]:"
                                             f"[name1,name2|prefix]. Got: \"{q['name']}\"")
        if op == "in":
            names = frozenset(value.split(","))
        else:
            prefix = value
    associated: bool | None = None
    if "associated" in q:
        if q["associated"].lower() not in ("true", "false"):
            raise errors.InvalidInput(detail='The query parameter "associated" only accepts '
                                             '"true" or "false"')
        associated = q["associated"].lower() == "true"
    return TraitFilter(names=names, prefix=prefix, associated=associated)


@router.get("/traits")
async def list_traits(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    return respond({"traits": await traits.list_traits(deps, ctx, _filter(request))}, version)


@router.get("/traits/{name}")
async def show_trait(name: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    await traits.trait_exists(deps, ctx, name)
    return empty(204, version, cache=True)


@router.put("/traits/{name}")
async def put_trait(name: str, request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    created = await traits.ensure_trait(deps, ctx, name)
    return empty(201 if created else 204, version, location=absolute(request, f"/traits/{name}"),
                 cache=True)


@router.delete("/traits/{name}")
async def delete_trait(name: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    await traits.delete_trait(deps, ctx, name)
    return Response(status_code=204)


@router.get("/resource_providers/{uuid}/traits")
async def provider_traits(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    provider, found = await traits.provider_traits(deps, ctx, uuid)
    return respond({"traits": found, "resource_provider_generation": provider.generation}, version)


@router.put("/resource_providers/{uuid}/traits")
async def set_provider_traits(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                              version: Version) -> Response:
    require(version, (1, 6))
    body = schemas.parse(schemas.ProviderTraitsPut, await json_body(request))
    generation, found = await traits.set_provider_traits(
        deps, ctx, uuid, body.resource_provider_generation, body.traits)
    return respond({"traits": found, "resource_provider_generation": generation}, version)


@router.delete("/resource_providers/{uuid}/traits")
async def delete_provider_traits(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 6))
    await traits.set_provider_traits(deps, ctx, uuid, None, [])
    return Response(status_code=204)
