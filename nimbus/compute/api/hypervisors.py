"""`/os-hypervisors`: list and detail (paged from 2.33; hostname pattern and servers as query
parameters from 2.53), show, statistics, uptime, and the pre-2.53 search and servers routes."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.service import hypervisors
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-hypervisors")

_FQDN = re.compile(r"^[a-zA-Z0-9-._]{1,255}$")
_LIST_PARAMS = ("limit", "marker", "hypervisor_hostname_pattern", "with_servers")


def _pattern(value: str | None) -> str | None:
    if value is not None and not _FQDN.match(value):
        raise errors.BadRequest("Invalid input for query parameters hypervisor_hostname_pattern. "
                                f"Value: {value}. '{value}' does not match '^[a-zA-Z0-9-._]*$'")
    return value


async def _list(request: Request, deps: Deps, ctx: Ctx, version: tuple[int, int],
                detail: bool) -> dict[str, Any]:
    q = request.query_params
    limit = marker = pattern = None
    with_servers = False
    if version >= (2, 53):
        params.reject_unknown(request, _LIST_PARAMS)
        pattern = _pattern(q.get("hypervisor_hostname_pattern"))
        with_servers = bool(params.strict_bool("with_servers", q.get("with_servers")))
    if version >= (2, 33):
        limit, marker = params.limit(q.get("limit")), q.get("marker")
        if pattern is not None and ("limit" in q or marker):
            raise errors.BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern "
                                    "query parameter is not supported.")
    found = await hypervisors.list_hypervisors(
        deps, ctx, detail=detail, limit=limit, marker=marker, by_uuid=version >= (2, 53),
        pattern=pattern, with_servers=with_servers)
    items = [views.hypervisor(h, version, detail=detail, with_servers=with_servers) for h in found]
    body: dict[str, Any] = {"hypervisors": items}
    if version >= (2, 33) and pattern is None:
        max_limit = deps.settings.compute.max_limit
        page = min(limit or max_limit, max_limit)
        links = views.next_link(request, "os-hypervisors/detail" if detail else "os-hypervisors",
                                items, page, str(items[-1]["id"]) if items else "")
        if links:
            body["hypervisors_links"] = links
    return body


@router.get("")
async def list_hypervisors(request: Request, deps: Deps, ctx: Ctx,
                           version: Version) -> dict[str, Any]:
    return await _list(request, deps, ctx, version, detail=False)


@router.get("/detail")
async def list_hypervisors_detail(request: Request, deps: Deps, ctx: Ctx,
                                  version: Version) -> dict[str, Any]:
    return await _list(request, deps, ctx, version, detail=True)


@router.get("/statistics")
async def hypervisor_statistics(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"hypervisor_statistics": await hypervisors.statistics(deps, ctx)}


@router.get("/{hypervisor_id}")
async def show_hypervisor(request: Request, hypervisor_id: str, deps: Deps, ctx: Ctx,
                          version: Version) -> dict[str, Any]:
    with_servers = False
    if version >= (2, 53):
        params.reject_unknown(request, ("with_servers",))
        with_servers = bool(params.strict_bool("with_servers",
                                               request.query_params.get("with_servers")))
    found = await hypervisors.get_hypervisor(deps, ctx, hypervisor_id, by_uuid=version >= (2, 53),
                                             with_servers=with_servers)
    return {"hypervisor": views.hypervisor(found, version, detail=True,
                                           with_servers=with_servers)}


@router.get("/{hypervisor_id}/uptime")
async def hypervisor_uptime(hypervisor_id: str, deps: Deps, ctx: Ctx,
                            version: Version) -> dict[str, Any]:
    uptime = await hypervisors.uptime(deps, ctx, hypervisor_id, by_uuid=version >= (2, 53))
    return {"hypervisor": {"uptime": uptime}}


def _before_253(version: tuple[int, int]) -> None:
    """2.53 replaced these routes with query parameters; Nova answers a bare 404 from then."""
    if version >= (2, 53):
        raise errors.NotFound("The resource could not be found.")


@router.get("/{pattern}/search")
async def search_hypervisors(pattern: str, deps: Deps, ctx: Ctx,
                             version: Version) -> dict[str, Any]:
    _before_253(version)
    found = await hypervisors.search(deps, ctx, pattern, with_servers=False)
    return {"hypervisors": [views.hypervisor(h, version, detail=False) for h in found]}


@router.get("/{pattern}/servers")
async def hypervisor_servers(pattern: str, deps: Deps, ctx: Ctx,
                             version: Version) -> dict[str, Any]:
    _before_253(version)
    found = await hypervisors.search(deps, ctx, pattern, with_servers=True)
    return {"hypervisors": [views.hypervisor(h, version, detail=False) for h in found]}
