"""`GET /os-migrations` and a server's live migrations (`/servers/{id}/migrations`, 2.22+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import migration_views, views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.service import migrations, moves
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1")

def _not_before(version: Version, wanted: tuple[int, int]) -> None:
    if version < wanted:
        raise errors.NotFound("The resource could not be found.")


@router.get("/os-migrations")
async def list_migrations(request: Request, deps: Deps, ctx: Ctx,
                          version: Version) -> dict[str, Any]:
    q = request.query_params
    query = migrations.MigrationQuery(
        hidden=params.strict_bool("hidden", q.get("hidden")) or False,
        host=q.get("host"), status=q.get("status"), instance_uuid=q.get("instance_uuid"),
        migration_type=q.get("migration_type"), source_compute=q.get("source_compute"),
        changes_since=params.timestamp("changes-since", q.get("changes-since")) if version >= (2, 59)
        else None,
        changes_before=params.timestamp("changes-before", q.get("changes-before")) if version >= (2, 66)
        else None,
        limit=params.limit(q.get("limit")) if version >= (2, 59) else None,
        marker=q.get("marker") if version >= (2, 59) else None)
    if query.changes_since and query.changes_before and query.changes_before < query.changes_since:
        raise errors.BadRequest("The value of changes-since must be less than or equal to "
                                "changes-before.")
    found = await migrations.list_migrations(deps.db, ctx, deps.policy, query,
                                             deps.settings.compute.max_limit)
    body: dict[str, Any] = {"migrations": [migration_views.migration(request, m, version) for m in found]}
    if version >= (2, 59):
        links = views.next_link(request, "os-migrations", found, query.limit,
                                found[-1].uuid if found else "")
        if links:
            body["migrations_links"] = links
    return body


@router.get("/servers/{server_id}/migrations")
async def list_server_migrations(server_id: str, deps: Deps, ctx: Ctx,
                                 version: Version) -> dict[str, Any]:
    _not_before(version, (2, 23))
    found = await moves.list_server_migrations(deps, ctx, server_id)
    return {"migrations": [migration_views.server_migration(m, version) for m in found]}


@router.get("/servers/{server_id}/migrations/{migration_id}")
async def show_server_migration(server_id: str, migration_id: str, deps: Deps, ctx: Ctx,
                                version: Version) -> dict[str, Any]:
    _not_before(version, (2, 23))
    found = await moves.get_server_migration(deps, ctx, server_id, migration_id)
    return {"migration": migration_views.server_migration(found, version)}


@router.post("/servers/{server_id}/migrations/{migration_id}/action")
async def server_migration_action(request: Request, server_id: str, migration_id: str,
                                  deps: Deps, ctx: Ctx, version: Version) -> Response:
    _not_before(version, (2, 22))
    body = await params.json_body(request)
    if not isinstance(body, dict) or set(body) != {"force_complete"} \
            or body["force_complete"] is not None:
        raise errors.BadRequest("The body must be {\"force_complete\": null}.")
    await moves.live_migration_control(deps, ctx, server_id, migration_id, "force_complete",
                                       version)
    return Response(status_code=202)


@router.delete("/servers/{server_id}/migrations/{migration_id}")
async def abort_server_migration(server_id: str, migration_id: str, deps: Deps, ctx: Ctx,
                                 version: Version) -> Response:
    _not_before(version, (2, 24))
    await moves.live_migration_control(deps, ctx, server_id, migration_id, "abort", version)
    return Response(status_code=202)
