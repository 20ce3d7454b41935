"""`/os-keypairs`: import or generate, list, show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import KeypairCreateRequest
from nimbus.compute.service import keypairs
from nimbus.core.http import Ctx, OrjsonResponse

router = APIRouter(prefix="/v2.1/os-keypairs")


@router.post("")
async def create_keypair(body: KeypairCreateRequest, deps: Deps, ctx: Ctx,
                         version: Version) -> Response:
    keypair = await keypairs.create_keypair(deps, ctx, body.keypair, version)
    # 2.2 changed the status from 200 to 201.
    return OrjsonResponse(views.keypair_created(keypair, version),
                          status_code=201 if version >= (2, 2) else 200)


@router.get("")
async def list_keypairs(request: Request, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    q = request.query_params
    paginated = version >= (2, 35)
    limit = params.limit(q.get("limit")) if paginated else None
    found = await keypairs.list_keypairs(deps, ctx, q.get("user_id"), version, limit=limit,
                                         marker=q.get("marker") if paginated else None)
    body: dict[str, Any] = {"keypairs": [views.keypair_listed(k, version) for k in found]}
    links = views.next_link(request, "os-keypairs", found, limit, found[-1].name if found else "")
    if links:
        body["keypairs_links"] = links
    return body


@router.get("/{name}")
async def show_keypair(name: str, request: Request, deps: Deps, ctx: Ctx,
                       version: Version) -> dict[str, Any]:
    keypair = await keypairs.get_keypair(deps, ctx, name, request.query_params.get("user_id"),
                                         version)
    return views.keypair_shown(keypair, version)


@router.delete("/{name}")
async def delete_keypair(name: str, request: Request, deps: Deps, ctx: Ctx,
                         version: Version) -> Response:
    await keypairs.delete_keypair(deps, ctx, name, request.query_params.get("user_id"), version)
    return Response(status_code=204 if version >= (2, 2) else 202)
