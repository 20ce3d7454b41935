"""`/v3/{project_id}/types`: volume types, their extra specs and access lists."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api.common import PREFIX, flag, json_body, non_negative
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import (
    ExtraSpecsRequest,
    VolumeTypeCreateRequest,
    VolumeTypeUpdateRequest,
)
from nimbus.volume.service import types

router = APIRouter(prefix=PREFIX)


@router.get("/types")
async def list_types(request: Request, project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    q = request.query_params
    is_public = None if q.get("is_public", "").lower() in ("", "none") else \
        flag("is_public", q.get("is_public"))
    specs: dict[str, str] = {}
    if q.get("extra_specs"):
        try:
            specs = {str(k): str(v) for k, v in json.loads(q["extra_specs"]).items()}
        except (ValueError, AttributeError):
            raise errors.BadRequest(f"Invalid extra_specs filter {q['extra_specs']}") from None
    sort_key, _, sort_dir = (q.get("sort") or "").partition(":")
    found = await types.list_types(
        deps, ctx, is_public=is_public if is_public is not None else (True if not ctx.is_admin
                                                                      else None),
        extra_specs=specs, sort_key=q.get("sort_key") or sort_key or "created_at",
        sort_dir=q.get("sort_dir") or sort_dir or "asc",
        limit=non_negative("limit", q.get("limit")), marker=q.get("marker"))
    return {"volume_types": [views.volume_type(t, ctx) for t in found]}


@router.get("/types/{type_id}")
async def show_type(project_id: str, type_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"volume_type": views.volume_type(await types.get_type(deps, ctx, type_id), ctx)}


@router.post("/types")
async def create_type(project_id: str, body: VolumeTypeCreateRequest, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    t = body.volume_type
    created = await types.create_type(deps, ctx, t.name, t.description, t.is_public,
                                      t.extra_specs or {})
    return {"volume_type": views.volume_type(created, ctx, shown=False)}


@router.put("/types/{type_id}")
async def update_type(project_id: str, type_id: str, body: VolumeTypeUpdateRequest, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    t = body.volume_type
    if not t.model_fields_set:
        raise errors.BadRequest("Specify volume type name, description, is_public or a "
                                "combination thereof.")
    updated = await types.update_type(deps, ctx, type_id, name=t.name, description=t.description,
                                      is_public=t.is_public,
                                      description_given="description" in t.model_fields_set)
    return {"volume_type": views.volume_type(updated, ctx, shown=False, access=False)}


@router.delete("/types/{type_id}", status_code=202)
async def delete_type(project_id: str, type_id: str, deps: Deps, ctx: Ctx) -> Response:
    await types.delete_type(deps, ctx, type_id)
    return Response(status_code=202)


@router.get("/types/{type_id}/extra_specs")
async def list_extra_specs(project_id: str, type_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"extra_specs": await types.get_extra_specs(deps, ctx, type_id)}


@router.post("/types/{type_id}/extra_specs")
async def create_extra_specs(project_id: str, type_id: str, body: ExtraSpecsRequest, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
    specs = await types.set_extra_specs(deps, ctx, type_id, body.extra_specs,
                                        rule="volume_extension:types_extra_specs:create")
    return {"extra_specs": specs}


@router.get("/types/{type_id}/extra_specs/{key}")
async def show_extra_spec(project_id: str, type_id: str, key: str, deps: Deps,
                          ctx: Ctx) -> dict[str, str]:
    return {key: await types.get_extra_spec(deps, ctx, type_id, key)}


@router.put("/types/{type_id}/extra_specs/{key}")
async def update_extra_spec(request: Request, project_id: str, type_id: str, key: str,
                            deps: Deps, ctx: Ctx) -> dict[str, str]:
    body = await json_body(request)
    if not isinstance(body, dict) or list(body) != [key]:
        raise errors.BadRequest("Request body and URI mismatch")
    specs: dict[str, str] = ExtraSpecsRequest(extra_specs=body).extra_specs
    await types.set_extra_specs(deps, ctx, type_id, specs,
                                rule="volume_extension:types_extra_specs:update")
    return specs


@router.delete("/types/{type_id}/extra_specs/{key}", status_code=202)
async def delete_extra_spec(project_id: str, type_id: str, key: str, deps: Deps,
                            ctx: Ctx) -> Response:
    await types.delete_extra_spec(deps, ctx, type_id, key)
    return Response(status_code=202)


@router.get("/types/{type_id}/os-volume-type-access")
async def list_access(project_id: str, type_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    projects = await types.list_access(deps, ctx, type_id)
    return {"volume_type_access": [{"volume_type_id": type_id, "project_id": p}
                                   for p in projects]}


@router.post("/types/{type_id}/action", status_code=202)
async def type_action(request: Request, project_id: str, type_id: str, deps: Deps,
                      ctx: Ctx) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("There is either no action or more than one action in the body.")
    (name, value), = body.items()
    if not isinstance(value, dict) or "project" not in value:
        raise errors.BadRequest("'project' is a required property")
    if name == "addProjectAccess":
        await types.add_access(deps, ctx, type_id, str(value["project"]))
    elif name == "removeProjectAccess":
        await types.remove_access(deps, ctx, type_id, str(value["project"]))
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)
