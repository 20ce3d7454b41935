"""`/resource_providers/{uuid}/aggregates` (from 1.1; generations from 1.19)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import errors, schemas
from nimbus.placement.api.common import json_body, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import aggregates

router = APIRouter(prefix="/resource_providers/{uuid}/aggregates")


def _body(found: list[str], generation: int, version: tuple[int, int]) -> dict[str, Any]:
    body: dict[str, Any] = {"aggregates": found}
    if version >= (1, 19):
        body["resource_provider_generation"] = generation
    return body


@router.get("")
async def list_aggregates(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 1))
    provider, found = await aggregates.provider_aggregates(deps, ctx, uuid)
    return respond(_body(found, provider.generation, version), version)


@router.put("")
async def set_aggregates(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                         version: Version) -> Response:
    require(version, (1, 1))
    raw = await json_body(request)
    if version >= (1, 19):
        body = schemas.parse(schemas.AggregatesPut, raw)
        wanted, generation = body.aggregates, body.resource_provider_generation
    else:
        wanted, generation = schemas.parse(schemas.AggregatesList, raw), None
    if len(set(wanted)) != len(wanted):
        raise errors.InvalidInput(detail="JSON does not validate: aggregates has non-unique elements")
    new_generation, found = await aggregates.set_provider_aggregates(deps, ctx, uuid, wanted,
                                                                     generation)
    return respond(_body(found, new_generation, version), version)
