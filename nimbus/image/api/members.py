"""`/v2/images/{id}/members`: image sharing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from nimbus.core.http import Ctx
from nimbus.image import views
from nimbus.image.deps import Deps
from nimbus.image.schemas import MemberCreate, MemberUpdate
from nimbus.image.service import members

router = APIRouter(prefix="/v2/images/{image_id}/members")


@router.post("")
async def add_member(image_id: str, body: MemberCreate, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.member(await members.add_member(deps, ctx, image_id, body.member))


@router.get("")
async def list_members(image_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.members(await members.list_members(deps, ctx, image_id))


@router.get("/{member_id}")
async def show_member(image_id: str, member_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.member(await members.get_member(deps, ctx, image_id, member_id))


@router.put("/{member_id}")
async def update_member(image_id: str, member_id: str, body: MemberUpdate, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    return views.member(await members.update_member(deps, ctx, image_id, member_id,
                                                    body.status))


@router.delete("/{member_id}", status_code=204)
async def delete_member(image_id: str, member_id: str, deps: Deps, ctx: Ctx) -> Response:
    await members.delete_member(deps, ctx, image_id, member_id)
    return Response(status_code=204)
