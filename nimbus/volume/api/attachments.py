"""`/v3/{project_id}/attachments` (3.27+; os-complete 3.44+; mode 3.54+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api.common import PREFIX, Version, flag, json_body
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import AttachmentCreateRequest, AttachmentUpdateRequest
from nimbus.volume.service import attachments

router = APIRouter(prefix=f"{PREFIX}/attachments")


def _needs(version: tuple[int, int], minimum: tuple[int, int]) -> None:
    if version < minimum:
        raise errors.NotFound("The resource could not be found.")


@router.post("")
async def create_attachment(project_id: str, body: AttachmentCreateRequest, deps: Deps,
                            ctx: Ctx, version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    a = body.attachment
    if "mode" in a.model_fields_set and version < (3, 54):
        raise errors.BadRequest("Additional properties are not allowed ('mode' was "
                                "unexpected)")
    found = await attachments.create(deps, ctx, a.volume_uuid, a.instance_uuid, a.connector,
                                     a.mode, version)
    return {"attachment": views.attachment(found)}


@router.get("")
async def list_attachments(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    return await _list(request, deps, ctx, detail=False)


@router.get("/detail")
async def list_attachments_detail(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                                  version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    return await _list(request, deps, ctx, detail=True)


async def _list(request: Request, deps: Deps, ctx: Ctx, detail: bool) -> dict[str, Any]:
    q = request.query_params
    filters = {k: q[k] for k in ("volume_id", "instance_id", "status") if k in q}
    found = await attachments.list_all(deps, ctx, filters, flag("all_tenants",
                                                                q.get("all_tenants")))
    return {"attachments": [views.attachment(a, detail) for a in found]}


@router.get("/{attachment_id}")
async def show_attachment(project_id: str, attachment_id: str, deps: Deps, ctx: Ctx,
                          version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    return {"attachment": views.attachment(await attachments.get(deps, ctx, attachment_id))}


@router.put("/{attachment_id}")
async def update_attachment(project_id: str, attachment_id: str, body: AttachmentUpdateRequest,
                            deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    found = await attachments.update(deps, ctx, attachment_id, body.attachment.connector, version)
    return {"attachment": views.attachment(found)}


@router.delete("/{attachment_id}")
async def delete_attachment(project_id: str, attachment_id: str, deps: Deps, ctx: Ctx,
                            version: Version) -> dict[str, Any]:
    _needs(version, (3, 27))
    left = await attachments.delete(deps, ctx, attachment_id)
    return {"attachments": [views.attachment(a, detail=False) for a in left]}


@router.post("/{attachment_id}/action", status_code=204)
async def attachment_action(request: Request, project_id: str, attachment_id: str, deps: Deps,
                            ctx: Ctx, version: Version) -> Response:
    _needs(version, (3, 44))
    body = await json_body(request)
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        raise errors.BadRequest("There is no such action: only os-complete is known.")
    await attachments.complete(deps, ctx, attachment_id)
    return Response(status_code=204)
