"""`/v2.0/{collection}/{id}/tags`: list, check, replace, add, remove one, remove all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.network.api.common import json_body
from nimbus.network.deps import Deps
from nimbus.network.service import tags

router = APIRouter(prefix="/v2.0/{collection}/{item_id}/tags")


@router.get("")
async def list_tags(collection: str, item_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"tags": await tags.list_tags(deps, ctx, collection, item_id)}


@router.get("/{tag}", status_code=204)
async def check_tag(collection: str, item_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await tags.check_tag(deps, ctx, collection, item_id, tag)
    return Response(status_code=204)


@router.put("")
async def replace_tags(collection: str, item_id: str, request: Request, deps: Deps,
                       ctx: Ctx) -> dict[str, Any]:
    body = await json_body(request)
    return {"tags": await tags.replace_tags(deps, ctx, collection, item_id, body)}


@router.put("/{tag}", status_code=201)
async def add_tag(collection: str, item_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await tags.add_tag(deps, ctx, collection, item_id, tag)
    return Response(status_code=201)


@router.delete("", status_code=204)
async def delete_tags(collection: str, item_id: str, deps: Deps, ctx: Ctx) -> Response:
    await tags.delete_tags(deps, ctx, collection, item_id)
    return Response(status_code=204)


@router.delete("/{tag}", status_code=204)
async def delete_tag(collection: str, item_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await tags.delete_tag(deps, ctx, collection, item_id, tag)
    return Response(status_code=204)
