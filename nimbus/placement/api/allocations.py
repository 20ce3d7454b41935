"""`/allocations[/{consumer_uuid}]` and `/resource_providers/{uuid}/allocations`."""

from __future__ import annotations

import uuid as uuidlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import errors, schemas, views
from nimbus.placement.api import convert
from nimbus.placement.api.common import json_body, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import allocations, providers

router = APIRouter()


def _consumer_uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise errors.InvalidInput(detail=f"Malformed consumer_uuid: {value}") from None


@router.get("/allocations/{consumer_uuid}")
async def show_allocations(consumer_uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    held = await allocations.consumer_allocations(deps, ctx, consumer_uuid)
    return respond(views.consumer_allocations(held, version), version)


@router.put("/allocations/{consumer_uuid}")
async def put_allocations(consumer_uuid: str, request: Request, deps: Deps, ctx: Ctx,
                          version: Version) -> Response:
    consumer = _consumer_uuid(consumer_uuid)
    body = schemas.parse(schemas.allocations_put_model(version), await json_body(request))
    await allocations.replace_allocations(deps, ctx, [convert.claim(consumer, body, version)],
                                          check_consumer_generation=version >= (1, 28))
    return Response(status_code=204)


@router.post("/allocations")
async def post_allocations(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 13))
    body = schemas.parse(schemas.allocations_post_model(version), await json_body(request))
    claims = [convert.claim(consumer, entry, version) for consumer, entry in body.items()]
    await allocations.replace_allocations(deps, ctx, claims, rule="allocations:manage",
                                          check_consumer_generation=version >= (1, 28))
    return Response(status_code=204)


@router.delete("/allocations/{consumer_uuid}")
async def delete_allocations(consumer_uuid: str, deps: Deps, ctx: Ctx) -> Response:
    await allocations.delete_consumer_allocations(deps, ctx, consumer_uuid)
    return Response(status_code=204)


@router.get("/resource_providers/{uuid}/allocations")
async def provider_allocations(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    provider = await providers.get_provider(deps, ctx, uuid)
    found = await allocations.provider_allocations(deps, ctx, provider.id)
    return respond(views.provider_allocations(provider.generation, found, version), version)
