"""`/v2.0/quotas`: list, show, update, reset, defaults and details (usage) per project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.network.api.common import json_body
from nimbus.network.deps import Deps
from nimbus.network.service import quotas

router = APIRouter(prefix="/v2.0/quotas")


@router.get("")
async def list_quotas(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quotas": await quotas.list_quotas(deps, ctx)}


@router.get("/tenant")
@router.get("/project")
async def show_own_project(request: Request, ctx: Ctx) -> dict[str, Any]:
    key = request.url.path.rsplit("/", 1)[-1]
    return {key: {f"{key}_id": ctx.project_id}}


@router.get("/{project_id}")
async def show_quota(project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quota": await quotas.show_quota(deps, ctx, project_id)}


@router.get("/{project_id}/default")
async def show_defaults(project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quota": quotas.show_defaults(deps, ctx, project_id)}


@router.get("/{project_id}/details")
async def show_details(project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quota": await quotas.show_details(deps, ctx, project_id)}


@router.put("/{project_id}")
async def update_quota(project_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quota": await quotas.update_quota(deps, ctx, project_id, await json_body(request))}


@router.delete("/{project_id}", status_code=204)
async def delete_quota(project_id: str, deps: Deps, ctx: Ctx) -> Response:
    await quotas.delete_quota(deps, ctx, project_id)
    return Response(status_code=204)
