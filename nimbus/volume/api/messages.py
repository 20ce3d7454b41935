"""`/v3/{project_id}/messages` (3.3+): list, show, delete user messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx, service_url
from nimbus.volume import views
from nimbus.volume.api.common import PREFIX, Version
from nimbus.volume.deps import Deps
from nimbus.volume.service import messages

router = APIRouter(prefix=f"{PREFIX}/messages")


def _needs(version: tuple[int, int]) -> None:
    if version < (3, 3):
        raise errors.NotFound("The resource could not be found.")


def _view(request: Request, project_id: str, row: messages.Message) -> dict[str, Any]:
    href = f"{service_url(request)}/v3/{project_id}/messages/{row.id}"
    return {"id": row.id, "request_id": row.request_id, "message_level": row.message_level,
            "event_id": row.event_id, "user_message": row.user_message,
            "resource_type": row.resource_type, "resource_uuid": row.resource_uuid,
            "created_at": views.stamp(row.created_at),
            "guaranteed_until": views.stamp(row.expires_at),
            "links": [{"rel": "self", "href": href}]}


@router.get("")
async def list_messages(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                        version: Version) -> dict[str, Any]:
    _needs(version)
    found = await messages.list_messages(deps, ctx)
    return {"messages": [_view(request, project_id, m) for m in found]}


@router.get("/{message_id}")
async def show_message(request: Request, project_id: str, message_id: str, deps: Deps,
                       ctx: Ctx, version: Version) -> dict[str, Any]:
    _needs(version)
    return {"message": _view(request, project_id,
                             await messages.get_message(deps, ctx, message_id))}


@router.delete("/{message_id}", status_code=204)
async def delete_message(project_id: str, message_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> Response:
    _needs(version)
    await messages.delete_message(deps, ctx, message_id)
    return Response(status_code=204)
