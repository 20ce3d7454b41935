"""`POST /volumes/{id}/action`: extend, flags, image metadata, upload to image, reset status.

Attach-related actions live in attachments.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.volume import errors, states
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import BackendRow, SnapshotRow, VolumeRow, VolumeTypeRow
from nimbus.volume.scheduler.filters import satisfies
from nimbus.volume.service import quotas, types
from nimbus.volume.service.common import Volume, load_volume, volume_row

UPLOAD_DISK_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")


async def extend(deps: VolumeDeps, ctx: RequestContext, volume_id: str, new_size: int,
                 version: tuple[int, int]) -> None:
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        attached = row.status == states.IN_USE and version >= (3, 42)
        deps.policy.authorize("volume:extend_attached_volume" if attached else "volume:extend",
                              ctx, {"project_id": row.project_id})
        if row.status != states.AVAILABLE and not attached:
            raise errors.InvalidVolume(reason=f"Volume status must be 'available' to extend, "
                                              f"but current status is: {row.status}.")
        if new_size <= row.size:
            raise errors.InvalidInput(reason=f"New size for extend must be greater than current "
                                             f"size. (current: {row.size}, extended: {new_size}).")
        type_row = await session.get(VolumeTypeRow, row.volume_type_id)
        if type_row is not None:
            await quotas.check(deps, session, row.project_id, type_row,
                               gigabytes=new_size - row.size, volume_size=new_size)
        restore = row.status
        row.status, row.updated_at = states.EXTENDING, db.utcnow()
        host = row.host
    if host is None:
        raise errors.InvalidVolume(reason=f"Volume {volume_id} is not on a backend.")
    await deps.volumes.extend_volume(ctx, host, volume_id, new_size, restore_status=restore)


async def reset_status(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                       changes: dict[str, str | None]) -> None:
    """Admins only: set status, attach_status and migration_status as told, no questions."""
    deps.policy.authorize("volume_extension:volume_admin_actions:reset_status", ctx)
    status, attach = changes.get("status"), changes.get("attach_status")
    if status is not None and status not in states.VOLUME_STATUSES:
        raise errors.InvalidInput(reason=f"Must specify a valid status, got {status!r}")
    if attach is not None and attach not in states.ATTACH_STATUSES:
        raise errors.InvalidInput(reason=f"Must specify a valid attach status, got {attach!r}")
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        if status is not None:
            row.status = status
        if attach is not None:
            row.attach_status = attach
        if "migration_status" in changes:
            row.migration_status = changes["migration_status"]
        row.updated_at = db.utcnow()


async def set_flag(deps: VolumeDeps, ctx: RequestContext, volume_id: str, flag: str,
                   value: bool) -> None:
    """`bootable` or `readonly`."""
    rule = {"bootable": "volume:update_volume_bootable",
            "readonly": "volume:update_readonly_flag"}[flag]
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
        if flag == "readonly" and row.status != states.AVAILABLE:
            raise errors.InvalidVolume(reason=f"Volume {volume_id} status must be available to "
                                              f"update readonly flag, but current status is: "
                                              f"{row.status}.")
        setattr(row, flag, value)
        row.updated_at = db.utcnow()


async def image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row = await volume_row(session, ctx, volume_id)
        deps.policy.authorize("volume_extension:volume_image_metadata:show", ctx,
                              {"project_id": row.project_id})
        return dict(row.image_metadata or {})


async def set_image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                             values: dict[str, str]) -> dict[str, Any]:
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_image_metadata:set", ctx,
                              {"project_id": row.project_id})
        row.image_metadata = {**(row.image_metadata or {}), **values}
        row.updated_at = db.utcnow()
        return dict(row.image_metadata)


async def unset_image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                               key: str) -> None:
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_image_metadata:remove", ctx,
                              {"project_id": row.project_id})
        current = dict(row.image_metadata or {})
        if key not in current:
            raise errors.MetadataNotFound(kind="Glance metadata", owner_id=volume_id, key=key)
        del current[key]
        row.image_metadata = current
        row.updated_at = db.utcnow()


@dataclasses.dataclass(frozen=True)
class ImageUpload:
    image_name: str
    force: bool = False
    disk_format: str = "raw"
    container_format: str = "bare"
    visibility: str | None = None
    protected: bool | None = None


async def upload_to_image(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                          upload: ImageUpload) -> tuple[Volume, dict[str, Any]]:
    """Create the image (as the caller), mark the volume `uploading` and have its host write
    the data; the volume goes back to its status when done. (volume, the new image's body)."""
    if upload.disk_format not in UPLOAD_DISK_FORMATS:
        raise errors.InvalidInput(reason=f"Invalid disk-format '{upload.disk_format}' is "
                                         "specified. Allowed disk-formats are "
                                         f"{', '.join(UPLOAD_DISK_FORMATS)}.")
    async with deps.read() as session:
        row = await volume_row(session, ctx, volume_id)
        deps.policy.authorize("volume:copy_volume_to_image", ctx, {"project_id": row.project_id})
        _check_uploadable(row, upload.force)
    body: dict[str, Any] = {"name": upload.image_name, "disk_format": upload.disk_format,
                            "container_format": upload.container_format}
    if upload.visibility is not None:
        body["visibility"] = upload.visibility
    if upload.protected is not None:
        body["protected"] = upload.protected
    for key, value in (row.image_metadata or {}).items():
        if key not in {"image_id", "image_name", "checksum", "container_format", "disk_format",
                       "size", "min_ram", "min_disk"}:
            body[key] = value
    image = await deps.images.create_image(ctx.auth_token or "", body)
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        _check_uploadable(row, upload.force)
        restore = row.status
        row.status, row.updated_at = states.UPLOADING, db.utcnow()
        host = row.host
        volume = await load_volume(session, row)
    assert host is not None
    await deps.volumes.upload_to_image(ctx, host, volume_id, image["id"], upload.disk_format,
                                       restore_status=restore)
    return volume, image


def _check_uploadable(row: VolumeRow, force: bool) -> None:
    allowed = {states.AVAILABLE, states.IN_USE} if force else {states.AVAILABLE}
    if row.status not in allowed or row.host is None:
        raise errors.InvalidVolume(reason=f"Volume {row.id} status must be available or in-use "
                                          f"(with force), but current status is: {row.status}.")


async def retype(deps: VolumeDeps, ctx: RequestContext, volume_id: str, new_type: str,
                 migration_policy: str) -> None:
    """Change the type when the volume's host also satisfies the new one; moving the data to
    another host (migration) is not offered, whatever the policy says."""
    if migration_policy not in ("never", "on-demand"):
        raise errors.InvalidInput(reason=f"Invalid migration_policy: {migration_policy}")
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume:retype", ctx, {"project_id": row.project_id})
        if row.status not in (states.AVAILABLE, states.IN_USE):
            raise errors.InvalidVolume(reason=f"Volume {volume_id} status must be available or "
                                              f"in-use, but current status is: {row.status}.")
        target = await types.find_type(session, ctx, new_type)
        if target.id == row.volume_type_id:
            raise errors.InvalidInput(reason=f"New volume_type same as original: {new_type}.")
        report = await session.get(BackendRow, row.host) if row.host else None
        specs = await types.specs_of(session, target.id)
        if report is None or not satisfies(dict(report.capabilities or {}), specs):
            raise errors.InvalidVolume(reason=f"Volume type {target.name} needs another backend: "
                                              "retyping would migrate the volume, which this "
                                              "cloud does not offer.")
        await quotas.check(deps, session, row.project_id, target, volumes=1,
                           gigabytes=row.size)
        row.volume_type_id, row.updated_at = target.id, db.utcnow()


async def revert_to_snapshot(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                             snapshot_id: str) -> None:
    """3.40+: only to the volume's latest snapshot, with both available (Cinder's rules)."""
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume:revert_to_snapshot", ctx, {"project_id": row.project_id})
        snaps = list((await session.execute(select(SnapshotRow).where(
            SnapshotRow.volume_id == row.id).order_by(SnapshotRow.created_at.desc(),
                                                       SnapshotRow.id))).scalars())
        snap = next((s for s in snaps if s.id == snapshot_id), None)
        if snap is None:
            raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
        # Times have one-second resolution: snapshots taken in the latest second all count.
        if snap.created_at != snaps[0].created_at:
            raise errors.InvalidSnapshot(reason="Cannot revert volume to a snapshot that is not "
                                                "its latest one.")
        if row.status != states.AVAILABLE or snap.status != states.AVAILABLE:
            raise errors.InvalidVolume(reason="Volume and snapshot must both be available to "
                                              "revert.")
        if snap.size > row.size:
            raise errors.InvalidVolume(reason="The snapshot is larger than the volume.")
        row.status, snap.status = states.REVERTING, states.RESTORING
        row.updated_at = snap.updated_at = db.utcnow()
        host, size = row.host, row.size
    assert host is not None
    await deps.volumes.revert_to_snapshot(ctx, host, volume_id, snapshot_id, size)
