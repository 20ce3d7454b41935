"""`/servers/{id}/tags` (2.26+): list, replace all, delete all; one tag: check, add, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import TagsRequest
from nimbus.compute.service import server_tags
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/servers/{server_id}/tags")


def _since_226(version: tuple[int, int]) -> None:
    """Before 2.26 these routes do not exist: Nova's bare 404."""
    if version < (2, 26):
        raise errors.NotFound("The resource could not be found.")


@router.get("")
async def list_tags(server_id: str, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    _since_226(version)
    return {"tags": await server_tags.list_tags(deps, ctx, server_id)}


@router.put("")
async def replace_tags(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                       version: Version) -> dict[str, Any]:
    _since_226(version)
    body = await params.body_as(request, TagsRequest)
    return {"tags": await server_tags.replace_tags(deps, ctx, server_id, body.tags)}


@router.delete("", status_code=204)
async def delete_tags(server_id: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    _since_226(version)
    await server_tags.delete_tags(deps, ctx, server_id)
    return Response(status_code=204)


@router.get("/{tag}", status_code=204)
async def check_tag(server_id: str, tag: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    _since_226(version)
    await server_tags.check_tag(deps, ctx, server_id, tag)
    return Response(status_code=204)


@router.put("/{tag}")
async def add_tag(request: Request, server_id: str, tag: str, deps: Deps, ctx: Ctx,
                  version: Version) -> Response:
    _since_226(version)
    # Nova's body schema here is {"type": "null"}: nothing, or JSON null.
    if (await request.body()).strip() not in (b"", b"null"):
        raise errors.BadRequest("Invalid input for field/attribute body: must be empty or null")
    if not await server_tags.add_tag(deps, ctx, server_id, tag):
        return Response(status_code=204)
    return Response(status_code=201, headers={"Location": str(request.url)})


@router.delete("/{tag}", status_code=204)
async def delete_tag(server_id: str, tag: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    _since_226(version)
    await server_tags.delete_tag(deps, ctx, server_id, tag)
    return Response(status_code=204)
