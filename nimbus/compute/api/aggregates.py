"""`/os-aggregates`: host aggregates (admins), with the add_host, remove_host and
set_metadata actions. Nova answers 200 to create and delete, for compatibility."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import (
    AddHostRequest,
    AggregateCreateRequest,
    AggregateUpdateRequest,
    RemoveHostRequest,
    SetMetadataRequest,
)
from nimbus.compute.service import aggregates
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-aggregates")


@router.get("")
async def list_aggregates(deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    found = await aggregates.list_aggregates(deps, ctx)
    return {"aggregates": [views.aggregate(a, version) for a in found]}


@router.post("")
async def create_aggregate(request: Request, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    body = (await params.body_as(request, AggregateCreateRequest)).aggregate
    created = await aggregates.create_aggregate(deps, ctx, body.name, body.availability_zone)
    return {"aggregate": views.aggregate(created, version, created=True)}


@router.get("/{aggregate_id}")
async def show_aggregate(aggregate_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    found = await aggregates.get_aggregate(deps, ctx, aggregate_id)
    return {"aggregate": views.aggregate(found, version)}


@router.put("/{aggregate_id}")
async def update_aggregate(request: Request, aggregate_id: str, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    body = (await params.body_as(request, AggregateUpdateRequest)).aggregate
    changes = body.model_dump(include=body.model_fields_set)
    updated = await aggregates.update_aggregate(deps, ctx, aggregate_id, changes)
    return {"aggregate": views.aggregate(updated, version)}


@router.delete("/{aggregate_id}")
async def delete_aggregate(aggregate_id: str, deps: Deps, ctx: Ctx) -> Response:
    await aggregates.delete_aggregate(deps, ctx, aggregate_id)
    return Response(status_code=200)


@router.post("/{aggregate_id}/action")
async def aggregate_action(request: Request, aggregate_id: str, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    body = await params.json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("Malformed request body: too many body keys")
    name = next(iter(body))
    if name == "add_host":
        host = (await params.body_as(request, AddHostRequest)).add_host.host
        found = await aggregates.add_host(deps, ctx, aggregate_id, host)
    elif name == "remove_host":
        host = (await params.body_as(request, RemoveHostRequest)).remove_host.host
        found = await aggregates.remove_host(deps, ctx, aggregate_id, host)
    elif name == "set_metadata":
        metadata = (await params.body_as(request, SetMetadataRequest)).set_metadata.metadata
        found = await aggregates.set_metadata(deps, ctx, aggregate_id, dict(metadata))
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return {"aggregate": views.aggregate(found, version)}
