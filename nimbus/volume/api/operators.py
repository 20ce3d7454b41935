"""Quotas (os-quota-sets), limits, availability zones and os-services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api.common import PREFIX, Version, flag, json_body
from nimbus.volume.deps import Deps
from nimbus.volume.schemas import QuotaSetRequest
from nimbus.volume.service import backends, quotas, zones

router = APIRouter(prefix=PREFIX)


@router.get("/os-quota-sets/{target}/defaults")
async def quota_defaults(project_id: str, target: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"quota_set": {"id": target, **await quotas.show_defaults(deps, ctx)}}


@router.get("/os-quota-sets/{target}")
async def show_quotas(request: Request, project_id: str, target: str, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    usage = flag("usage", request.query_params.get("usage"))
    return {"quota_set": {"id": target, **await quotas.show(deps, ctx, target, usage)}}


@router.put("/os-quota-sets/{target}")
async def update_quotas(project_id: str, target: str, body: QuotaSetRequest, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    wanted: dict[str, int] = {}
    for key, value in body.quota_set.items():
        if key in ("id", "tenant_id"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise errors.BadRequest(f"Quota {key} must be an integer.")
        try:
            wanted[key] = int(value)
        except ValueError:
            raise errors.BadRequest(f"Quota {key} must be an integer.") from None
    return {"quota_set": await quotas.update(deps, ctx, target, wanted)}


@router.delete("/os-quota-sets/{target}")
async def reset_quotas(project_id: str, target: str, deps: Deps, ctx: Ctx) -> Response:
    await quotas.reset(deps, ctx, target)
    return Response(status_code=200)


@router.get("/limits")
async def show_limits(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                      version: Version) -> dict[str, Any]:
    target = ctx.project_id or project_id
    wanted = request.query_params.get("project_id")
    if wanted and version >= (3, 39) and ctx.is_admin:
        target = wanted
    return {"limits": {"rate": [],
                       "absolute": await quotas.absolute_limits(deps, ctx, target)}}


@router.get("/os-availability-zone")
async def list_zones(project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    found = await zones.list_zones(deps, ctx)
    return {"availabilityZoneInfo": [{"zoneName": name, "zoneState": {"available": up}}
                                     for name, up in found]}


@router.get("/os-services")
async def list_services(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                        version: Version) -> dict[str, Any]:
    q = request.query_params
    found = await zones.list_services(deps, ctx, host=q.get("host"), binary=q.get("binary"))
    return {"services": [views.service(s, version) for s in found]}


@router.put("/os-services/{action}")
async def update_service(request: Request, project_id: str, action: str, deps: Deps,
                         ctx: Ctx, version: Version) -> dict[str, Any]:
    if action not in ("enable", "disable", "disable-log-reason"):
        raise errors.NotFound(f"Unknown action {action}")
    body = await json_body(request)
    if not isinstance(body, dict) or "host" not in body or "binary" not in body:
        raise errors.BadRequest("Missing required element 'host' and 'binary' in request body.")
    reason = body.get("disabled_reason") if action == "disable-log-reason" else None
    if action == "disable-log-reason" and not reason:
        raise errors.BadRequest("Disabled reason contains invalid characters or is too long")
    found = await zones.set_enabled(deps, ctx, str(body["host"]), str(body["binary"]),
                                    action == "enable", reason)
    reply: dict[str, Any] = {"host": found.host, "binary": found.binary,
                             "status": "disabled" if found.disabled else "enabled",
                             "disabled": found.disabled}
    if action == "disable-log-reason":
        reply["disabled_reason"] = found.disabled_reason
    return reply


@router.get("/scheduler-stats/get_pools")
async def list_pools(request: Request, project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    detail = flag("detail", request.query_params.get("detail"))
    found = await backends.list_pools(deps, ctx)
    if not detail:
        return {"pools": [{"name": p.name} for p in found]}
    return {"pools": [{"name": p.name, "capabilities": {
        "total_capacity_gb": p.total_capacity_gb, "free_capacity_gb": p.free_capacity_gb,
        "reserved_percentage": 0, "QoS_support": False,
        "volume_backend_name": p.backend, "driver_version": "1.0",
        "storage_protocol": str(p.capabilities.get("storage_protocol", p.backend)),
        "vendor_name": "Nimbus", "timestamp": views.stamp(p.updated_at),
        "updated": views.stamp(p.updated_at)}} for p in found]}


@router.get("/capabilities/{host}")
async def show_capabilities(project_id: str, host: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    pool = await backends.get_capabilities(deps, ctx, host)
    return {"namespace": f"OS::Storage::Capabilities::{pool.host}@{pool.backend}",
            "vendor_name": "Nimbus", "volume_backend_name": pool.backend,
            "pool_name": None, "driver_version": "1.0",
            "storage_protocol": str(pool.capabilities.get("storage_protocol", pool.backend)),
            "display_name": None, "description": None, "visibility": None,
            "replication_targets": [],
            "properties": {"thin_provisioning": {
                "title": "Thin Provisioning", "type": "boolean",
                "description": "Sets thin provisioning."}}}


# What each list honours beyond paging and sorting (service/listing.py, attachments.py).
RESOURCE_FILTERS = {
    "volume": ["name", "status", "availability_zone", "metadata", "bootable", "glance_metadata",
               "snapshot_id", "source_volid", "volume_type", "project_id", "created_at",
               "updated_at"],
    "snapshot": ["name", "status", "volume_id", "metadata", "project_id", "created_at",
                 "updated_at"],
    "attachment": ["volume_id", "instance_id", "status"],
    "message": [],
}


@router.get("/resource_filters")
async def list_resource_filters(request: Request, project_id: str, ctx: Ctx,
                                version: Version) -> dict[str, Any]:
    """3.33+: the filters each list accepts."""
    if version < (3, 33):
        raise errors.NotFound("The resource could not be found.")
    wanted = request.query_params.get("resource")
    return {"resource_filters": [{"resource": name, "filters": filters}
                                 for name, filters in RESOURCE_FILTERS.items()
                                 if wanted in (None, name)]}
