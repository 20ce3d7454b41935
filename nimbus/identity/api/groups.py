"""`/v3/groups`: groups and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.identity import views
from nimbus.identity.api.users import user_filters
from nimbus.identity.deps import Deps
from nimbus.identity.schemas_resources import GroupCreateRequest, GroupUpdateRequest, QueryStr
from nimbus.identity.service import groups

router = APIRouter(prefix="/v3")


@router.post("/groups", status_code=201)
async def create_group(request: Request, body: GroupCreateRequest, deps: Deps,
                       ctx: Ctx) -> dict[str, Any]:
    g = body.group
    ref = await groups.create_group(deps, ctx, name=g.name, domain_id=g.domain_id,
                                    description=g.description, extra=g.extra())
    return {"group": views.member(request, "groups", ref)}


@router.api_route("/groups", methods=["GET", "HEAD"])
async def list_groups(request: Request, deps: Deps, ctx: Ctx, domain_id: QueryStr = None,
                      name: QueryStr = None) -> dict[str, Any]:
    refs = await groups.list_groups(deps, ctx, domain_id=domain_id, name=name)
    return views.members(request, "groups", "groups", refs)


@router.api_route("/groups/{group_id}", methods=["GET", "HEAD"])
async def show_group(request: Request, group_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    ref = await groups.get_group(deps, ctx, group_id)
    return {"group": views.member(request, "groups", ref)}


@router.patch("/groups/{group_id}")
async def update_group(request: Request, group_id: str, body: GroupUpdateRequest, deps: Deps,
                       ctx: Ctx) -> dict[str, Any]:
    ref = await groups.update_group(deps, ctx, group_id, body.group.changes())
    return {"group": views.member(request, "groups", ref)}


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(group_id: str, deps: Deps, ctx: Ctx) -> Response:
    await groups.delete_group(deps, ctx, group_id)
    return Response(status_code=204)


@router.api_route("/groups/{group_id}/users", methods=["GET", "HEAD"])
async def list_group_users(request: Request, group_id: str, deps: Deps, ctx: Ctx,
                           domain_id: QueryStr = None, name: QueryStr = None,
                           enabled: QueryStr = None,
                           password_expires_at: QueryStr = None) -> dict[str, Any]:
    filters = user_filters(domain_id, name, enabled, password_expires_at)
    refs = await groups.list_users_in_group(deps, ctx, group_id, filters)
    return views.members(request, "users", "users", refs)


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
async def add_user(group_id: str, user_id: str, deps: Deps, ctx: Ctx) -> Response:
    await groups.add_user_to_group(deps, ctx, group_id, user_id)
    return Response(status_code=204)


@router.api_route("/groups/{group_id}/users/{user_id}", methods=["GET", "HEAD"],
                  status_code=204)
async def check_user(group_id: str, user_id: str, deps: Deps, ctx: Ctx) -> Response:
    await groups.check_user_in_group(deps, ctx, group_id, user_id)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
async def remove_user(group_id: str, user_id: str, deps: Deps, ctx: Ctx) -> Response:
    await groups.remove_user_from_group(deps, ctx, group_id, user_id)
    return Response(status_code=204)
