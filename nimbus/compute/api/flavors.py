"""`/flavors`: list, show, create, update (2.55+), delete; extra specs and access lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import (
    ExtraSpecsRequest,
    FlavorAccessAction,
    FlavorCreateRequest,
    FlavorUpdateRequest,
)
from nimbus.compute.service import flavors
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/flavors")


def _query(request: Request) -> flavors.FlavorQuery:
    q = request.query_params
    return flavors.FlavorQuery(
        is_public=params.tri_state("is_public", q.get("is_public"), True),
        min_ram=params.optional_int("minRam", q.get("minRam")),
        min_disk=params.optional_int("minDisk", q.get("minDisk")),
        sort_key=q.get("sort_key", "flavorid"), sort_dir=q.get("sort_dir", "asc"),
        limit=params.limit(q.get("limit")), marker=q.get("marker"))


async def _list(request: Request, deps: Deps, ctx: Ctx, version: tuple[int, int],
                detail: bool) -> dict[str, Any]:
    query = _query(request)
    found = await flavors.list_flavors(deps, ctx, query)
    view = views.flavor_detail if detail else views.flavor_brief
    body: dict[str, Any] = {"flavors": [view(request, f, version) for f in found]}
    links = views.next_link(request, "flavors/detail" if detail else "flavors", found,
                            query.limit, found[-1].flavorid if found else "")
    if links:
        body["flavors_links"] = links
    return body


@router.get("")
async def list_flavors(request: Request, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    return await _list(request, deps, ctx, version, detail=False)


@router.get("/detail")
async def list_flavors_detail(request: Request, deps: Deps, ctx: Ctx,
                              version: Version) -> dict[str, Any]:
    return await _list(request, deps, ctx, version, detail=True)


@router.get("/{flavor_id}")
async def show_flavor(request: Request, flavor_id: str, deps: Deps, ctx: Ctx,
                      version: Version) -> dict[str, Any]:
    flavor = await flavors.get_flavor(deps, ctx, flavor_id)
    return {"flavor": views.flavor_detail(request, flavor, version)}


@router.post("")
async def create_flavor(request: Request, body: FlavorCreateRequest, deps: Deps, ctx: Ctx,
                        version: Version) -> dict[str, Any]:
    flavor = await flavors.create_flavor(deps, ctx, body.flavor, version)
    return {"flavor": views.flavor_detail(request, flavor, version)}


@router.put("/{flavor_id}")
async def update_flavor(request: Request, flavor_id: str, body: FlavorUpdateRequest, deps: Deps,
                        ctx: Ctx, version: Version) -> dict[str, Any]:
    if version < (2, 55):
        raise errors.MethodNotAllowed("Updating a flavor needs microversion 2.55 or later.")
    flavor = await flavors.update_flavor(deps, ctx, flavor_id, body.flavor.description)
    return {"flavor": views.flavor_detail(request, flavor, version)}


@router.delete("/{flavor_id}", status_code=202)
async def delete_flavor(flavor_id: str, deps: Deps, ctx: Ctx) -> Response:
    await flavors.delete_flavor(deps, ctx, flavor_id)
    return Response(status_code=202)


@router.get("/{flavor_id}/os-extra_specs")
async def list_extra_specs(flavor_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"extra_specs": await flavors.get_extra_specs(deps, ctx, flavor_id)}


@router.post("/{flavor_id}/os-extra_specs")
async def create_extra_specs(flavor_id: str, body: ExtraSpecsRequest, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
    specs = await flavors.set_extra_specs(deps, ctx, flavor_id, body.extra_specs,
                                          rule="os_compute_api:os-flavor-extra-specs:create")
    return {"extra_specs": specs}


@router.get("/{flavor_id}/os-extra_specs/{key}")
async def show_extra_spec(flavor_id: str, key: str, deps: Deps, ctx: Ctx) -> dict[str, str]:
    return {key: await flavors.get_extra_spec(deps, ctx, flavor_id, key)}


@router.put("/{flavor_id}/os-extra_specs/{key}")
async def update_extra_spec(flavor_id: str, key: str, request: Request, deps: Deps,
                            ctx: Ctx) -> dict[str, str]:
    try:
        body = await request.json()
    except ValueError:
        raise errors.BadRequest("Malformed request body.") from None
    if not isinstance(body, dict) or list(body) != [key]:
        raise errors.BadRequest("Request body and URI mismatch")
    specs = ExtraSpecsRequest(extra_specs=body).extra_specs
    await flavors.set_extra_specs(deps, ctx, flavor_id, specs,
                                  rule="os_compute_api:os-flavor-extra-specs:update")
    return specs


@router.delete("/{flavor_id}/os-extra_specs/{key}")
async def delete_extra_spec(flavor_id: str, key: str, deps: Deps, ctx: Ctx) -> Response:
    await flavors.delete_extra_spec(deps, ctx, flavor_id, key)
    return Response(status_code=200)


@router.get("/{flavor_id}/os-flavor-access")
async def list_flavor_access(flavor_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.flavor_access(flavor_id, await flavors.list_access(deps, ctx, flavor_id))


@router.post("/{flavor_id}/action")
async def flavor_action(flavor_id: str, body: FlavorAccessAction, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    if body.add is not None and body.remove is None:
        projects = await flavors.add_access(deps, ctx, flavor_id, body.add.tenant)
    elif body.remove is not None and body.add is None:
        projects = await flavors.remove_access(deps, ctx, flavor_id, body.remove.tenant)
    else:
        raise errors.BadRequest("Exactly one of addTenantAccess and removeTenantAccess is needed.")
    return views.flavor_access(flavor_id, projects)
