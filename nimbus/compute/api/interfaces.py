"""`/servers/{id}/os-interface`: list, show, attach (200 with the attachment), detach (202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import InterfaceAttachRequest
from nimbus.compute.service import interfaces
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-interface")


@router.get("")
async def list_interfaces(server_id: str, deps: Deps, ctx: Ctx,
                          version: Version) -> dict[str, Any]:
    return {"interfaceAttachments": await interfaces.list_interfaces(deps, ctx, server_id,
                                                                     version)}


@router.get("/{port_id}")
async def show_interface(server_id: str, port_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    return {"interfaceAttachment": await interfaces.show_interface(deps, ctx, server_id, port_id,
                                                                   version)}


@router.post("")
async def attach_interface(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    body = await params.body_as(request, InterfaceAttachRequest)
    return {"interfaceAttachment": await interfaces.attach_interface(
        deps, ctx, server_id, body.interfaceAttachment, version)}


@router.delete("/{port_id}", status_code=202)
async def detach_interface(server_id: str, port_id: str, deps: Deps, ctx: Ctx) -> Response:
    await interfaces.detach_interface(deps, ctx, server_id, port_id)
    return Response(status_code=202)
