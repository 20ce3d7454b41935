"""`/servers/{id}/os-volume_attachments`: list, show, attach (200 with the attachment),
swap (202, admin), detach (202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import VolumeAttachRequest, VolumeSwapRequest
from nimbus.compute.service import volume_attachments
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-volume_attachments")


@router.get("")
async def list_volume_attachments(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                                  version: Version) -> dict[str, Any]:
    q = request.query_params
    found = await volume_attachments.list_attachments(
        deps, ctx, server_id, params.limit(q.get("limit")),
        params.optional_int("offset", q.get("offset")) or 0)
    return {"volumeAttachments": [volume_attachments.view(a, version) for a in found]}


@router.get("/{volume_id}")
async def show_volume_attachment(server_id: str, volume_id: str, deps: Deps, ctx: Ctx,
                                 version: Version) -> dict[str, Any]:
    found = await volume_attachments.show_attachment(deps, ctx, server_id, volume_id)
    return {"volumeAttachment": volume_attachments.view(found, version)}


@router.post("")
async def attach_volume(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                        version: Version) -> dict[str, Any]:
    body = await params.body_as(request, VolumeAttachRequest)
    found = await volume_attachments.attach_volume(deps, ctx, server_id,
                                                   body.volumeAttachment, version)
    return {"volumeAttachment": volume_attachments.view(found, version)}


@router.put("/{volume_id}", status_code=202)
async def swap_volume(request: Request, server_id: str, volume_id: str, deps: Deps,
                      ctx: Ctx) -> Response:
    body = await params.body_as(request, VolumeSwapRequest)
    await volume_attachments.swap_volume(deps, ctx, server_id, volume_id,
                                         body.volumeAttachment.volumeId)
    return Response(status_code=202)


@router.delete("/{volume_id}", status_code=202)
async def detach_volume(server_id: str, volume_id: str, deps: Deps, ctx: Ctx) -> Response:
    await volume_attachments.detach_volume(deps, ctx, server_id, volume_id)
    return Response(status_code=202)
