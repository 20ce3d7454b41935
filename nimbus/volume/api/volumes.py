"""`/v3/{project_id}/volumes`: create, list, detail, show, update, delete, and metadata."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api import metadata as metadata_routes
from nimbus.volume.api.common import PREFIX, Version, flag, list_query
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import VolumeCreateRequest, VolumeUpdateRequest
from nimbus.volume.service import listing, volumes
from nimbus.volume.service.listing import VOLUME_SORT_KEYS

router = APIRouter(prefix=f"{PREFIX}/volumes")
router.include_router(metadata_routes.routes(volumes.volume_metadata))


@router.post("", status_code=202)
async def create_volume(request: Request, project_id: str, body: VolumeCreateRequest,
                        deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    v = body.volume
    new = volumes.NewVolume(
        size=v.size, name=v.name if v.name is not None else v.display_name,
        description=v.description if v.description is not None else v.display_description,
        metadata=v.metadata or {}, volume_type=v.volume_type,
        availability_zone=v.availability_zone, snapshot_id=v.snapshot_id,
        source_volid=v.source_volid, image_ref=v.imageRef or v.image_id,
        multiattach=v.multiattach)
    volume = await volumes.create_volume(deps, ctx, new)
    return {"volume": views.volume_detail(request, volume, ctx, version, extended=False)}


async def _list(request: Request, project_id: str, deps: Deps, ctx: Ctx, version: Version,
                detail: bool) -> dict[str, Any]:
    query = list_query(request, VOLUME_SORT_KEYS, version,
                       renamed={"display_name": "name", "display_description": "description"})
    if version < (3, 2):
        query.filters.pop("bootable", None)
    if version < (3, 4):
        query.filters.pop("glance_metadata", None)
    found, count = await listing.list_volumes(deps, ctx, query)
    body: dict[str, Any] = {"volumes": [
        views.volume_detail(request, v, ctx, version, backend=deps.settings.volume.backend)
        if detail else views.volume_brief(request, v)
        for v in found]}
    links = views.next_link(request, project_id, "volumes/detail" if detail else "volumes",
                            found, query.limit, deps.settings.volume.max_limit)
    if links:
        body["volumes_links"] = links
    if version >= (3, 45) and flag("with_count", request.query_params.get("with_count")):
        body["count"] = count
    return body


@router.get("")
async def list_volumes(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                       version: Version) -> dict[str, Any]:
    return await _list(request, project_id, deps, ctx, version, detail=False)


@router.get("/detail")
async def list_volumes_detail(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                              version: Version) -> dict[str, Any]:
    return await _list(request, project_id, deps, ctx, version, detail=True)


@router.get("/summary")
async def volume_summary(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    """3.12+: how many volumes the caller sees and their total size (3.36+: their metadata)."""
    if version < (3, 12):
        raise errors.NotFound("The resource could not be found.")
    query = list_query(request, VOLUME_SORT_KEYS, version)
    found, count = await listing.list_volumes(deps, ctx, query)
    summary: dict[str, Any] = {"total_count": count, "total_size": sum(v.size for v in found)}
    if version >= (3, 36):
        merged: dict[str, set[str]] = {}
        for v in found:
            for key, value in v.metadata.items():
                merged.setdefault(key, set()).add(value)
        summary["metadata"] = {k: sorted(values) for k, values in merged.items()}
    return {"volume-summary": summary}


@router.get("/{volume_id}")
async def show_volume(request: Request, project_id: str, volume_id: str, deps: Deps, ctx: Ctx,
                      version: Version) -> dict[str, Any]:
    volume = await volumes.get_volume(deps, ctx, volume_id)
    return {"volume": views.volume_detail(request, volume, ctx, version,
                                          backend=deps.settings.volume.backend)}


@router.put("/{volume_id}")
async def update_volume(request: Request, project_id: str, volume_id: str,
                        body: VolumeUpdateRequest, deps: Deps, ctx: Ctx,
                        version: Version) -> dict[str, Any]:
    v = body.volume
    given = v.model_fields_set
    changes: dict[str, Any] = {}
    if "name" in given or "display_name" in given:
        changes["name"] = v.name if "name" in given else v.display_name
    if "description" in given or "display_description" in given:
        changes["description"] = v.description if "description" in given else v.display_description
    if "metadata" in given:
        changes["metadata"] = v.metadata
    volume = await volumes.update_volume(deps, ctx, volume_id, changes)
    return {"volume": views.volume_detail(request, volume, ctx, version, extended=False)}


@router.delete("/{volume_id}", status_code=202)
async def delete_volume(request: Request, project_id: str, volume_id: str, deps: Deps,
                        ctx: Ctx) -> Response:
    q = request.query_params
    await volumes.delete_volume(deps, ctx, volume_id, cascade=flag("cascade", q.get("cascade")),
                                force=flag("force", q.get("force")))
    return Response(status_code=202)
