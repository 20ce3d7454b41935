"""`/os-services`: list, update (by uuid from 2.53; by host and binary through the
enable/disable/disable-log-reason/force-down actions before), delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import LegacyServiceUpdate, ServiceUpdate
from nimbus.compute.service import compute_services
from nimbus.core import errors
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-services")


@router.get("")
async def list_services(request: Request, deps: Deps, ctx: Ctx, version: Version) -> dict[str, Any]:
    if version >= (2, 75):
        params.reject_unknown(request, ("host", "binary"))
    q = request.query_params
    found = await compute_services.list_services(deps, ctx, host=q.get("host"),
                                                 binary=q.get("binary"))
    return {"services": [views.service(s, version) for s in found]}


@router.put("/{service_id}")
async def update_service(request: Request, service_id: str, deps: Deps, ctx: Ctx,
                         version: Version) -> dict[str, Any]:
    if version >= (2, 53):
        body = await params.body_as(request, ServiceUpdate)
        found = await compute_services.update_service(
            deps, ctx, service_id, status=body.status, disabled_reason=body.disabled_reason,
            forced_down=body.forced_down)
        return {"service": views.service(found, version)}
    return await _legacy_action(request, service_id, deps, ctx, version)


async def _legacy_action(request: Request, action: str, deps: Deps, ctx: Ctx,
                         version: tuple[int, int]) -> dict[str, Any]:
    body = await params.body_as(request, LegacyServiceUpdate)
    if body.forced_down is not None and version < (2, 11):
        raise errors.BadRequest("Additional properties are not allowed ('forced_down' was "
                                "unexpected)")
    answer = await compute_services.legacy_action(
        deps, ctx, action, host=body.host, binary=body.binary,
        disabled_reason=body.disabled_reason, forced_down=body.forced_down, version=version)
    return views.service_action(body.host, body.binary, **answer)


@router.delete("/{service_id}", status_code=204)
async def delete_service(service_id: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    await compute_services.delete_service(deps, ctx, service_id, by_uuid=version >= (2, 53))
    return Response(status_code=204)
