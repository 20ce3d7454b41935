"""`/servers`: create (202), list and detail, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import ServerCreateRequest, ServerUpdateRequest
from nimbus.compute.service import compute_services, ips, server_list, servers
from nimbus.core.http import Ctx, OrjsonResponse

router = APIRouter(prefix="/v2.1/servers")


@router.post("", status_code=202)
async def create_server(request: Request, body: ServerCreateRequest, deps: Deps, ctx: Ctx,
                        version: Version) -> Response:
    created = await servers.create_servers(deps, ctx, body, version)
    if body.server.return_reservation_id:
        return OrjsonResponse({"reservation_id": created.reservation_id}, status_code=202)
    first = created.servers[0]
    return OrjsonResponse(views.server_created(request, first, created.admin_pass), status_code=202,
                          headers={"Location": views.server_links(request, first.row.uuid)[0]["href"]})


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in (value or "").split(",") if t)


def _query(request: Request, version: tuple[int, int]) -> server_list.ServerQuery:
    q = request.query_params
    all_tenants = "all_tenants" in q and (q["all_tenants"] == "" or
                                          params.tri_state("all_tenants", q["all_tenants"], True))
    changes_before = (params.timestamp("changes-before", q.get("changes-before"))
                      if version >= (2, 66) else None)
    return server_list.ServerQuery(
        all_tenants=bool(all_tenants), project_id=q.get("project_id") or q.get("tenant_id"),
        name=q.get("name"), statuses=tuple(q.getlist("status")), image=q.get("image"), flavor=q.get("flavor"),
        host=q.get("host"), node=q.get("node"), ip=q.get("ip"), ip6=q.get("ip6"),
        reservation_id=q.get("reservation_id"),
        changes_since=params.timestamp("changes-since", q.get("changes-since")),
        changes_before=changes_before,
        tags=_split(q.get("tags")) if version >= (2, 26) else (),
        tags_any=_split(q.get("tags-any")) if version >= (2, 26) else (),
        not_tags=_split(q.get("not-tags")) if version >= (2, 26) else (),
        not_tags_any=_split(q.get("not-tags-any")) if version >= (2, 26) else (),
        locked=params.tri_state("locked", q.get("locked"), None) if version >= (2, 73) else None,
        sort_keys=tuple(q.getlist("sort_key")) or ("created_at",),
        sort_dirs=tuple(q.getlist("sort_dir")) or ("desc",),
        limit=params.limit(q.get("limit")), marker=q.get("marker"))


async def _host_statuses(deps: Deps, ctx: Ctx, found: list[servers.Server],
                         version: tuple[int, int]) -> dict[str, str] | None:
    if version < (2, 16):
        return None
    return await compute_services.host_statuses(deps, ctx, {s.row.host for s in found if s.row.host})


def _host_status(statuses: dict[str, str] | None, server: servers.Server) -> str | None:
    if statuses is None:
        return None
    return statuses.get(server.row.host or "", "")


async def _list(request: Request, deps: Deps, ctx: Ctx, version: tuple[int, int],
                detail: bool) -> dict[str, Any]:
    query = _query(request, version)
    if detail:
        found = await server_list.list_servers(deps, ctx, query)
        statuses = await _host_statuses(deps, ctx, found, version)
        items = [views.server_detail(request, s, version, is_admin=ctx.is_admin, view="detail",
                                     host_status=_host_status(statuses, s))
                 for s in await ips.with_floating(deps, ctx, found)]
        last = found[-1].row.uuid if found else ""
    else:
        rows = await server_list.list_rows(deps, ctx, query)
        items = [views.server_brief(request, r.uuid, r.display_name) for r in rows]
        last = rows[-1].uuid if rows else ""
    body: dict[str, Any] = {"servers": items}
    links = views.next_link(request, "servers/detail" if detail else "servers", items,
                            server_list.page_size(deps, query), last)
    if links:
        body["servers_links"] = links
    return body


# The lists and show answer a Response: FastAPI would otherwise validate and copy every body
# through a pydantic model of dict[str, Any] before orjson writes it, the most of a big list's
# cost after the database.
@router.get("")
async def list_servers(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    return OrjsonResponse(await _list(request, deps, ctx, version, detail=False))


@router.get("/detail")
async def list_servers_detail(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    return OrjsonResponse(await _list(request, deps, ctx, version, detail=True))


@router.get("/{server_id}")
async def show_server(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                      version: Version) -> Response:
    [server] = await ips.with_floating(deps, ctx, [await servers.get_server(deps, ctx, server_id)])
    statuses = await _host_statuses(deps, ctx, [server], version)
    return OrjsonResponse({"server": views.server_detail(
        request, server, version, is_admin=ctx.is_admin,
        host_status=_host_status(statuses, server))})


@router.put("/{server_id}")
async def update_server(request: Request, server_id: str, body: ServerUpdateRequest, deps: Deps,
                        ctx: Ctx, version: Version) -> dict[str, Any]:
    changes = body.server.model_dump(exclude_unset=True, by_alias=False)
    server = await servers.update_server(deps, ctx, server_id, changes, version)
    # From 2.75 the answer is the whole server, host_status included, as show gives it.
    statuses = await _host_statuses(deps, ctx, [server], version) if version >= (2, 75) else None
    return {"server": views.server_detail(request, server, version, is_admin=ctx.is_admin,
                                          host_status=_host_status(statuses, server),
                                          view="update")}


@router.delete("/{server_id}", status_code=204)
async def delete_server(server_id: str, deps: Deps, ctx: Ctx) -> Response:
    await servers.delete_server(deps, ctx, server_id)
    return Response(status_code=204)
