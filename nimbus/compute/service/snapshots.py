"""createImage and shelve's image: the image record is made here, as the caller, with Nova's
snapshot properties; the server's host writes the data into it with the service token."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service import lifecycle
from nimbus.compute.states import TaskState, VmState
from nimbus.core.clients.image import Image, ImageNotFound
from nimbus.core.context import RequestContext

SNAPSHOT_FROM = (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED)

# Glance's own attributes and what must not pass from an image to its snapshots (Nova's
# non_inheritable_image_properties, and the properties a snapshot sets itself).
_NOT_INHERITED = {
    "created_at", "updated_at", "visibility", "protected", "os_hidden", "owner", "tags",
    "file", "schema", "self", "direct_url", "locations", "virtual_size", "os_hash_algo",
    "os_hash_value", "stores", "cache_in_nova", "bittorrent", "img_signature",
    "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid",
    "instance_uuid", "user_id", "image_type", "base_image_ref", "backup_type",
    "image_location", "image_state", "owner_specified.openstack.md5",
    "owner_specified.openstack.sha256", "owner_specified.openstack.object",
}


async def _base_image(deps: ComputeDeps, ctx: RequestContext, image_ref: str | None) -> Image | None:
    """The image the server booted from, when it still exists and the caller sees it."""
    if not image_ref:
        return None
    try:
        return await deps.images.get_image(ctx.auth_token or "", image_ref)
    except ImageNotFound:
        return None


async def image_for(deps: ComputeDeps, ctx: RequestContext, row: InstanceRow, name: str,
                    extra: dict[str, Any], image_type: str) -> dict[str, Any]:
    """Create the (queued) image a snapshot of `row` fills, as Nova shapes it; its body."""
    base = await _base_image(deps, ctx, row.image_ref)
    body: dict[str, Any] = {
        "name": name, "owner": row.project_id,
        "disk_format": (base.disk_format if base else None) or "raw",
        "container_format": (base.container_format if base else None) or "bare",
        "min_ram": base.min_ram if base else 0,
        "min_disk": max(base.min_disk if base else 0, int(row.flavor.get("root_gb", 0))),
    }
    if base is not None:
        body.update({k: v for k, v in base.properties.items()
                     if k not in _NOT_INHERITED and not k.startswith("os_glance")})
    body.update(extra)
    body.update({"instance_uuid": row.uuid, "user_id": ctx.user_id or row.user_id,
                 "image_type": image_type})
    if row.image_ref:
        body["base_image_ref"] = row.image_ref
    return await deps.images.create_image(ctx.auth_token or "", body)


@dataclasses.dataclass(frozen=True)
class Backup:
    """createBackup's own arguments: the kind of backup, and how many of that kind to keep."""

    backup_type: str
    rotation: int


async def _snapshottable(session: AsyncSession, deps: ComputeDeps, ctx: RequestContext,
                         server_id: str, backup: Backup | None) -> InstanceRow:
    if backup is not None:
        return await lifecycle.checked_row(session, deps, ctx, server_id, action="createBackup",
                                           rule="os_compute_api:os-create-backup",
                                           allowed=(VmState.ACTIVE, VmState.STOPPED))
    return await lifecycle.checked_row(session, deps, ctx, server_id, action="createImage",
                                       rule="os_compute_api:servers:create_image",
                                       allowed=SNAPSHOT_FROM)


async def create_image(deps: ComputeDeps, ctx: RequestContext, server_id: str, name: str,
                       metadata: dict[str, str], backup: Backup | None = None) -> str:
    """createImage, or createBackup given `backup`: the new image's id; the image is active
    once the host uploaded it, and a backup's host then deletes the oldest of its kind past
    the rotation. A server that starts another action meanwhile makes this a 409, and the
    image is deleted."""
    async with deps.read() as session:
        row = await _snapshottable(session, deps, ctx, server_id, backup)
    extra = {**metadata, **({"backup_type": backup.backup_type} if backup else {})}
    image = await image_for(deps, ctx, row, name, extra, "backup" if backup else "snapshot")
    try:
        async with deps.write() as session:
            row = await _snapshottable(session, deps, ctx, server_id, backup)
            await lifecycle.begin(session, ctx, row,
                                  action="createBackup" if backup else "createImage",
                                  task=TaskState.IMAGE_BACKUP if backup else TaskState.IMAGE_SNAPSHOT)
            host = row.host
    except Exception:
        await deps.images.delete_image(ctx.auth_token or "", image["id"])
        raise
    assert host is not None
    await deps.agents.snapshot_instance(ctx, host, server_id, image["id"],
                                        backup_type=backup.backup_type if backup else None,
                                        rotation=backup.rotation if backup else None)
    return str(image["id"])


def image_url(deps: ComputeDeps, image_id: str) -> str:
    """The Location createImage answers before 2.45: the image in the image service."""
    return f"{deps.images.endpoint}/v2/images/{image_id}"
