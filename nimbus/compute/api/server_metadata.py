"""`/servers/{id}/metadata`: list, merge (POST), replace (PUT), and one key (GET, PUT, DELETE)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from nimbus.compute.deps import Deps
from nimbus.compute.schemas import MetadataRequest, MetaItemRequest
from nimbus.compute.service import server_metadata
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/servers/{server_id}/metadata")


@router.get("")
async def list_metadata(server_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"metadata": await server_metadata.get_metadata(deps, ctx, server_id)}


@router.post("")
async def merge_metadata(server_id: str, body: MetadataRequest, deps: Deps,
                         ctx: Ctx) -> dict[str, Any]:
    # Nova answers 200 here, not 201.
    return {"metadata": await server_metadata.update_metadata(
        deps, ctx, server_id, body.metadata, replace=False, rule="create")}


@router.put("")
async def replace_metadata(server_id: str, body: MetadataRequest, deps: Deps,
                           ctx: Ctx) -> dict[str, Any]:
    return {"metadata": await server_metadata.update_metadata(
        deps, ctx, server_id, body.metadata, replace=True, rule="update_all")}


@router.get("/{key}")
async def show_metadata_item(server_id: str, key: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"meta": {key: await server_metadata.get_item(deps, ctx, server_id, key)}}


@router.put("/{key}")
async def set_metadata_item(server_id: str, key: str, body: MetaItemRequest, deps: Deps,
                            ctx: Ctx) -> dict[str, Any]:
    if key not in body.meta:
        raise errors.BadRequest("Request body and URI mismatch")
    await server_metadata.update_metadata(deps, ctx, server_id, body.meta, replace=False,
                                          rule="update")
    return {"meta": body.meta}


@router.delete("/{key}", status_code=204)
async def delete_metadata_item(server_id: str, key: str, deps: Deps, ctx: Ctx) -> Response:
    await server_metadata.delete_item(deps, ctx, server_id, key)
    return Response(status_code=204)
