"""`/v3/{project_id}/snapshots`: create, list, detail, show, update, delete, metadata, actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api import metadata as metadata_routes
from nimbus.volume.api.common import PREFIX, Version, bool_body, json_body, list_query
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import SnapshotCreateRequest, SnapshotUpdateRequest
from nimbus.volume.service import listing, snapshots
from nimbus.volume.service.listing import SNAPSHOT_SORT_KEYS

router = APIRouter(prefix=f"{PREFIX}/snapshots")
router.include_router(metadata_routes.routes(snapshots.snapshot_metadata))


@router.post("", status_code=202)
async def create_snapshot(request: Request, project_id: str, body: SnapshotCreateRequest,
                          deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    s = body.snapshot
    new = snapshots.NewSnapshot(
        volume_id=s.volume_id, name=s.name if s.name is not None else s.display_name,
        description=s.description if s.description is not None else s.display_description,
        force=bool_body("force", s.force), metadata=s.metadata or {})
    snapshot = await snapshots.create_snapshot(deps, ctx, new, version)
    return {"snapshot": views.snapshot_detail(request, snapshot, version, extended=False)}


async def _list(request: Request, project_id: str, deps: Deps, ctx: Ctx, version: Version,
                detail: bool) -> dict[str, Any]:
    sort_keys = SNAPSHOT_SORT_KEYS if version >= (3, 30) else SNAPSHOT_SORT_KEYS - {"name"}
    query = list_query(request, sort_keys, version,
                       renamed={"display_name": "name", "display_description": "description"})
    if version < (3, 22):
        query.filters.pop("metadata", None)
    found, count = await listing.list_snapshots(deps, ctx, query)
    items = [views.snapshot_detail(request, s, version, extended=detail) for s in found]
    body: dict[str, Any] = {"snapshots": items}
    links = views.next_link(request, project_id, "snapshots/detail" if detail else "snapshots",
                            found, query.limit, deps.settings.volume.max_limit)
    if links:
        body["snapshots_links"] = links
    if version >= (3, 45) and request.query_params.get("with_count", "").lower() in ("true", "1"):
        body["count"] = count
    return body


@router.get("")
async def list_snapshots(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    return await _list(request, project_id, deps, ctx, version, detail=False)


@router.get("/detail")
async def list_snapshots_detail(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                                version: Version) -> dict[str, Any]:
    return await _list(request, project_id, deps, ctx, version, detail=True)


@router.get("/{snapshot_id}")
async def show_snapshot(request: Request, project_id: str, snapshot_id: str, deps: Deps,
                        ctx: Ctx, version: Version) -> dict[str, Any]:
    snapshot = await snapshots.get_snapshot(deps, ctx, snapshot_id)
    return {"snapshot": views.snapshot_detail(request, snapshot, version)}


@router.put("/{snapshot_id}")
async def update_snapshot(request: Request, project_id: str, snapshot_id: str,
                          body: SnapshotUpdateRequest, deps: Deps, ctx: Ctx,
                          version: Version) -> dict[str, Any]:
    s = body.snapshot
    given = s.model_fields_set
    if not given:
        raise errors.BadRequest("Missing required element 'snapshot' in request body.")
    changes: dict[str, Any] = {}
    if "name" in given or "display_name" in given:
        changes["name"] = s.name if "name" in given else s.display_name
    if "description" in given or "display_description" in given:
        changes["description"] = s.description if "description" in given else s.display_description
    snapshot = await snapshots.update_snapshot(deps, ctx, snapshot_id, changes)
    return {"snapshot": views.snapshot_detail(request, snapshot, version, extended=False)}


@router.delete("/{snapshot_id}", status_code=202)
async def delete_snapshot(project_id: str, snapshot_id: str, deps: Deps, ctx: Ctx) -> Response:
    await snapshots.delete_snapshot(deps, ctx, snapshot_id)
    return Response(status_code=202)


@router.post("/{snapshot_id}/action")
async def snapshot_action(request: Request, project_id: str, snapshot_id: str, deps: Deps,
                          ctx: Ctx) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("There is either no action or more than one action in the body.")
    (name, value), = body.items()
    if name == "os-reset_status":
        if not isinstance(value, dict) or "status" not in value:
            raise errors.BadRequest("'status' is a required property")
        await snapshots.reset_status(deps, ctx, snapshot_id, str(value["status"]))
    elif name == "os-update_snapshot_status":
        if not isinstance(value, dict) or "status" not in value:
            raise errors.BadRequest("'status' is a required property")
        progress = value.get("progress")
        await snapshots.update_status(deps, ctx, snapshot_id, str(value["status"]),
                                      str(progress) if progress is not None else None)
    elif name == "os-force_delete":
        await snapshots.delete_snapshot(deps, ctx, snapshot_id, force=True)
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)
