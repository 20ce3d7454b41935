"""`/os-server-groups`: create (a `policies` list before 2.64; `policy` and `rules` from
2.64), list (limit/offset; all_projects for admins), show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import LegacyServerGroupRequest, ServerGroupRequest
from nimbus.compute.service import server_groups
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-server-groups")


@router.post("")
async def create_server_group(request: Request, deps: Deps, ctx: Ctx,
                              version: Version) -> dict[str, Any]:
    if version >= (2, 64):
        body = (await params.body_as(request, ServerGroupRequest)).server_group
        rules = body.rules.model_dump(exclude_none=True) if body.rules else {}
        spec = server_groups.GroupSpec(body.name, body.policy, rules)
    else:
        legacy = (await params.body_as(request, LegacyServerGroupRequest)).server_group
        spec = server_groups.GroupSpec(legacy.name, legacy.policies[0], {})
    group = await server_groups.create_group(deps, ctx, spec, version)
    return {"server_group": views.server_group(group, version)}


@router.get("")
async def list_server_groups(request: Request, deps: Deps, ctx: Ctx,
                             version: Version) -> dict[str, Any]:
    if version >= (2, 75):
        params.reject_unknown(request, ("all_projects", "limit", "offset"))
    q = request.query_params
    found = await server_groups.list_groups(
        deps, ctx, all_projects="all_projects" in q, limit=params.limit(q.get("limit")),
        offset=params.optional_int("offset", q.get("offset")) or 0)
    return {"server_groups": [views.server_group(g, version) for g in found]}


@router.get("/{group_id}")
async def show_server_group(group_id: str, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    group = await server_groups.get_group(deps, ctx, group_id)
    return {"server_group": views.server_group(group, version)}


@router.delete("/{group_id}", status_code=204)
async def delete_server_group(group_id: str, deps: Deps, ctx: Ctx) -> Response:
    await server_groups.delete_group(deps, ctx, group_id)
    return Response(status_code=204)
