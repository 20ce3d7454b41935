"""`/resource_providers` and `/resource_providers/{uuid}`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import schemas, views
from nimbus.placement.api import query
from nimbus.placement.api.common import absolute, check_query, empty, json_body, latest, prefix, respond
from nimbus.placement.api.microversion import Version
from nimbus.placement.deps import Deps
from nimbus.placement.service import providers

router = APIRouter(prefix="/resource_providers")

# (since, query parameters) of GET /resource_providers.
_LIST_PARAMS = (((1, 0), ("name", "uuid")), ((1, 3), ("member_of",)), ((1, 4), ("resources",)),
                ((1, 14), ("in_tree",)), ((1, 18), ("required",)))


@router.get("")
async def list_providers(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    check_query(request, (p for since, names in _LIST_PARAMS if version >= since for p in names))
    q = request.query_params
    required, forbidden = query.traits(q.getlist("required"), version) if "required" in q \
        else ((), frozenset())
    member_of, not_member_of = query.member_of(q.getlist("member_of"), version) \
        if "member_of" in q else ((), frozenset())
    filters = providers.ProviderFilters(
        name=q.get("name"), uuid=query.in_tree(q["uuid"]) if "uuid" in q else None,
        in_tree=query.in_tree(q["in_tree"]) if "in_tree" in q else None,
        member_of=member_of, forbidden_aggregates=not_member_of, required=required,
        forbidden=forbidden, resources=query.resources(q["resources"]) if "resources" in q else ())
    found = await providers.list_providers(deps, ctx, filters)
    return respond({"resource_providers": [views.provider(p, version, prefix(request)) for p in found]},
                   version, last_modified=latest(*(p.updated_at for p in found)))


@router.post("")
async def create_provider(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    body = schemas.parse(schemas.provider_create_model(version), await json_body(request))
    created = await providers.create_provider(
        deps, ctx, name=body.name, uuid=body.uuid,
        parent_uuid=getattr(body, "parent_provider_uuid", None))
    location = absolute(request, f"/resource_providers/{created.uuid}")
    if version >= (1, 20):
        return respond(views.provider(created, version, prefix(request)), version,
                       last_modified=created.updated_at, location=location)
    return empty(201, version, location=location)


@router.get("/{uuid}")
async def show_provider(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                        version: Version) -> Response:
    found = await providers.get_provider(deps, ctx, uuid)
    return respond(views.provider(found, version, prefix(request)), version,
                   last_modified=found.updated_at)


@router.put("/{uuid}")
async def update_provider(uuid: str, request: Request, deps: Deps, ctx: Ctx,
                          version: Version) -> Response:
    body = schemas.parse(schemas.provider_update_model(version), await json_body(request))
    parent = body.parent_provider_uuid if "parent_provider_uuid" in body.model_fields_set \
        else providers.UNSET
    updated = await providers.update_provider(deps, ctx, uuid, name=body.name, parent_uuid=parent,
                                              allow_reparenting=version >= (1, 37))
    return respond(views.provider(updated, version, prefix(request)), version,
                   last_modified=updated.updated_at)


@router.delete("/{uuid}")
async def delete_provider(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    await providers.delete_provider(deps, ctx, uuid)
    return Response(status_code=204)
