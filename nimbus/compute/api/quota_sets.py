"""`/os-quota-sets/{project_id}`: show, detail (with usage), defaults, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import QuotaSetUpdateRequest
from nimbus.compute.service import quota_sets
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-quota-sets/{project_id}")


def _user_id(request: Request, version: tuple[int, int]) -> str | None:
    if version >= (2, 75):
        params.reject_unknown(request, ("user_id",))
    return request.query_params.get("user_id")


@router.get("")
async def show_quota_set(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    _user_id(request, version)
    found = await quota_sets.get_quota_set(deps, ctx, project_id)
    return views.quota_set(found, version)


@router.get("/detail")
async def show_quota_set_detail(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                                version: Version) -> dict[str, Any]:
    _user_id(request, version)
    found = await quota_sets.get_quota_set(deps, ctx, project_id, detail=True)
    return views.quota_set(found, version)


@router.get("/defaults")
async def show_quota_defaults(project_id: str, deps: Deps, ctx: Ctx,
                              version: Version) -> dict[str, Any]:
    return views.quota_set(quota_sets.get_defaults(deps, ctx, project_id), version)


@router.put("")
async def update_quota_set(request: Request, project_id: str, body: QuotaSetUpdateRequest,
                           deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    user_id = _user_id(request, version)
    changes = body.quota_set.model_dump(exclude_unset=True, exclude={"force"})
    found = await quota_sets.update_quota_set(deps, ctx, project_id, changes,
                                              force=body.quota_set.force, user_id=user_id,
                                              version=version)
    # Nova answers an update without the id.
    return views.quota_set(found, version, with_id=False)


@router.delete("", status_code=202)
async def delete_quota_set(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                           version: Version) -> Response:
    await quota_sets.delete_quota_set(deps, ctx, project_id, user_id=_user_id(request, version))
    return Response(status_code=202)
