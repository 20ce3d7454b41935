"""The metadata routes that volumes and snapshots share, over service.metadata:

    router.include_router(metadata.routes(volumes.volume_metadata))

    GET    /{id}/metadata          all of it
    POST   /{id}/metadata          merged with the body's
    PUT    /{id}/metadata          replaced by the body's
    GET    /{id}/metadata/{key}    one key
    PUT    /{id}/metadata/{key}    one key set (the body names that key alone)
    DELETE /{id}/metadata/{key}    one key gone
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response

from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.core.http import Ctx
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import MetadataRequest, MetaItemRequest
from nimbus.volume.service import metadata

OwnerOf = Callable[[RequestContext, str], metadata.Owner]


def routes(owner_of: OwnerOf) -> APIRouter:
    """The six routes under the including router's prefix; `owner_of` names whose metadata
    (and checks that it exists for the caller)."""
    router = APIRouter()

    @router.get("/{owner_id}/metadata")
    async def show_metadata(project_id: str, owner_id: str, deps: Deps,
                            ctx: Ctx) -> dict[str, Any]:
        return {"metadata": await metadata.show(deps, ctx, owner_of(ctx, owner_id))}

    @router.post("/{owner_id}/metadata")
    async def merge_metadata(project_id: str, owner_id: str, body: MetadataRequest, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
        return {"metadata": await metadata.write(deps, ctx, owner_of(ctx, owner_id),
                                                 body.metadata, replace=False)}

    @router.put("/{owner_id}/metadata")
    async def replace_metadata(project_id: str, owner_id: str, body: MetadataRequest,
                               deps: Deps, ctx: Ctx) -> dict[str, Any]:
        return {"metadata": await metadata.write(deps, ctx, owner_of(ctx, owner_id),
                                                 body.metadata, replace=True)}

    @router.get("/{owner_id}/metadata/{key}")
    async def show_metadata_item(project_id: str, owner_id: str, key: str, deps: Deps,
                                 ctx: Ctx) -> dict[str, Any]:
        return {"meta": {key: await metadata.show_key(deps, ctx, owner_of(ctx, owner_id), key)}}

    @router.put("/{owner_id}/metadata/{key}")
    async def update_metadata_item(project_id: str, owner_id: str, key: str,
                                   body: MetaItemRequest, deps: Deps,
                                   ctx: Ctx) -> dict[str, Any]:
        if list(body.meta) != [key]:
            raise errors.BadRequest("Request body and URI mismatch")
        await metadata.write(deps, ctx, owner_of(ctx, owner_id), body.meta, replace=False)
        return {"meta": body.meta}

    @router.delete("/{owner_id}/metadata/{key}")
    async def delete_metadata_item(project_id: str, owner_id: str, key: str, deps: Deps,
                                   ctx: Ctx) -> Response:
        await metadata.delete_key(deps, ctx, owner_of(ctx, owner_id), key)
        return Response(status_code=200)

    return router
