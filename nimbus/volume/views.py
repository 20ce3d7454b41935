"""Cinder v3 response shapes, per microversion (data keyed on the version, no decorators)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from nimbus.core.context import RequestContext
from nimbus.core.http import service_url
from nimbus.volume.service.common import Attachment, Snapshot, Volume
from nimbus.volume.service.types import VolumeType
from nimbus.volume.service.zones import Service

Version = tuple[int, int]


def stamp(value: dt.datetime | None) -> str | None:
    """Cinder's timestamps: ISO 8601 with microseconds, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _links(request: Request, project_id: str, collection: str, item_id: str) -> list[dict[str, str]]:
    base = service_url(request)
    return [{"rel": "self", "href": f"{base}/v3/{project_id}/{collection}/{item_id}"},
            {"rel": "bookmark", "href": f"{base}/{project_id}/{collection}/{item_id}"}]


def next_link(request: Request, project_id: str, collection: str, items: list[Any],
              limit: int | None, max_limit: int) -> list[dict[str, str]]:
    """Cinder links the next page when a page came back full (of `limit` or of max_limit)."""
    wanted = min(limit, max_limit) if limit is not None else max_limit
    if not items or len(items) < wanted:
        return []
    params = {k: v for k, v in request.query_params.items() if k not in ("marker", "offset")}
    params["marker"] = items[-1].id
    params.setdefault("limit", str(wanted))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return [{"rel": "next",
             "href": f"{service_url(request)}/v3/{project_id}/{collection}?{query}"}]


def volume_brief(request: Request, volume: Volume) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name,
            "links": _links(request, volume.project_id, "volumes", volume.id)}


def attachment_in_volume(attachment: Attachment) -> dict[str, Any]:
    return {"id": attachment.volume_id, "attachment_id": attachment.id,
            "volume_id": attachment.volume_id, "server_id": attachment.instance_uuid,
            "host_name": attachment.attached_host, "device": attachment.mountpoint,
            "attached_at": stamp(attachment.attach_time)}


def volume_detail(request: Request, volume: Volume, ctx: RequestContext, version: Version, *,
                  extended: bool = True, backend: str = "file") -> dict[str, Any]:
    """Cinder's volume view; `extended` adds what its extensions add to show and detail (not
    to create and update): tenant, host (`host@backend#pool`), migration and image metadata."""
    body = volume_brief(request, volume)
    body.update({
        "status": volume.status, "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": stamp(volume.created_at), "updated_at": stamp(volume.updated_at),
        "attachments": [attachment_in_volume(a) for a in volume.attachments],
        "description": volume.description, "volume_type": volume.volume_type_name,
        "snapshot_id": volume.snapshot_id, "source_volid": volume.source_volid,
        # Cinder shows the read-only flag, once set, among the metadata ("True"/"False").
        "metadata": volume.metadata if volume.readonly is None else {
            **volume.metadata, "readonly": str(volume.readonly)},
        "user_id": volume.user_id,
        "bootable": str(volume.bootable).lower(), "encrypted": False,
        "replication_status": None, "consistencygroup_id": None,
        "multiattach": volume.multiattach,
    })
    if ctx.is_admin:
        body["migration_status"] = volume.migration_status
    if extended:
        body["os-vol-tenant-attr:tenant_id"] = volume.project_id
        if volume.image_metadata:
            body["volume_image_metadata"] = volume.image_metadata
        if ctx.is_admin:
            body["os-vol-host-attr:host"] = (f"{volume.host}@{backend}#{backend}"
                                             if volume.host else None)
            body["os-vol-mig-status-attr:migstat"] = volume.migration_status
            body["os-vol-mig-status-attr:name_id"] = None
    if version >= (3, 13):
        body["group_id"] = None
    if version >= (3, 21) and ctx.is_admin:
        body["provider_id"] = None
    if version >= (3, 48):
        body["shared_targets"] = False
        body["service_uuid"] = None
    return body


def snapshot_detail(request: Request, snapshot: Snapshot, version: Version, *,
                    extended: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": snapshot.id, "name": snapshot.name, "description": snapshot.description,
        "status": snapshot.status, "size": snapshot.size, "volume_id": snapshot.volume_id,
        "created_at": stamp(snapshot.created_at), "updated_at": stamp(snapshot.updated_at),
        "metadata": snapshot.metadata,
    }
    if extended:
        body["os-extended-snapshot-attributes:progress"] = snapshot.progress
        body["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
    if version >= (3, 14):
        body["group_snapshot_id"] = None
    if version >= (3, 41):
        body["user_id"] = snapshot.user_id
    return body


def volume_type(vtype: VolumeType, ctx: RequestContext, *,
                shown: bool = True, access: bool = True) -> dict[str, Any]:
    """Show and list add the access flag and, for admins, the QoS id; create adds only the
    flag; update neither (Cinder's extensions decorate those views so)."""
    body: dict[str, Any] = {"id": vtype.id, "name": vtype.name, "description": vtype.description,
                            "is_public": vtype.is_public}
    if access:
        body["os-volume-type-access:is_public"] = vtype.is_public
    if shown and ctx.is_admin:
        body["qos_specs_id"] = None
    # Cinder shows extra specs to admins (and to readers of the type through its specs API).
    body["extra_specs"] = vtype.extra_specs if ctx.is_admin else {
        k: v for k, v in vtype.extra_specs.items() if k in ("multiattach", "RESKEY:availability_zones",
                                                            "replication_enabled")}
    return body


def attachment(found: Attachment, detail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"id": found.id, "status": found.attach_status,
                            "instance": found.instance_uuid, "volume_id": found.volume_id}
    if detail:
        body.update({"attached_at": stamp(found.attach_time),
                     "detached_at": stamp(found.detach_time), "attach_mode": found.attach_mode,
                     "connection_info": found.connection_info})
    return body


def service(found: Service, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"binary": found.binary, "host": found.host, "zone": found.zone,
                            "status": "disabled" if found.disabled else "enabled",
                            "state": "up" if found.up else "down",
                            "updated_at": stamp(found.updated_at),
                            "disabled_reason": found.disabled_reason}
    if version >= (3, 7):
        body["cluster"] = None
    if version >= (3, 49) and found.binary == "cinder-volume":
        body["backend_state"] = "up" if found.up else "down"
    return body
