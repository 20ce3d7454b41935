"""Volumes: create (blank, from an image, a snapshot or another volume), show, update, delete.

Create writes the row (`creating`) and casts to the scheduler: the API answers 202 at once and
the volume host reports the outcome through the volume conductor.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.clients.image import Image, ImageNotFound
from nimbus.core.context import RequestContext
from nimbus.volume import errors, states
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import (
    AttachmentRow,
    SnapshotRow,
    VolumeMetadataRow,
    VolumeRow,
    VolumeTypeRow,
)
from nimbus.volume.objects import CreateRequest, VolumeSource
from nimbus.volume.service import metadata, quotas, types, zones
from nimbus.volume.service.common import (
    Volume,
    load_volume,
    new_id,
    snapshot_row,
    volume_row,
)

LOG = logging.getLogger(__name__)

GIB = 1 << 30
# Image fields Cinder copies into volume_image_metadata, beside the image's own properties.
_IMAGE_FIELDS = ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size")


@dataclasses.dataclass(frozen=True)
class NewVolume:
    size: int | None = None
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_ref: str | None = None
    multiattach: bool = False


@dataclasses.dataclass
class _Origin:
    """What a new volume inherits from its source."""

    source: VolumeSource
    min_size: int = 1
    default_size: int | None = None
    type_id: str | None = None
    zone: str | None = None
    host: str | None = None
    # An image's minDisk, which Cinder names in its own message.
    min_disk: int = 0
    bootable: bool = False
    image_metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


def image_metadata(image: Image) -> dict[str, str]:
    """Glance's view of the image as volume_image_metadata: string values, as Cinder keeps."""
    found: dict[str, str] = {"image_id": image.id, "image_name": image.name or ""}
    for key in _IMAGE_FIELDS:
        value = getattr(image, key)
        if value is not None:
            found[key] = str(value)
    for key, value in image.properties.items():
        if key in {"locations", "direct_url", "file", "schema", "self", "tags", "owner",
                   "visibility", "protected", "os_hidden", "created_at", "updated_at",
                   "virtual_size", "os_hash_algo", "os_hash_value", "stores"} or value is None:
            continue
        found[key] = value if isinstance(value, str) else str(value)
    return found


async def _from_image(deps: VolumeDeps, ctx: RequestContext, image_ref: str) -> _Origin:
    try:
        image = await deps.images.get_image(ctx.auth_token or "", image_ref)
    except ImageNotFound:
        raise errors.InvalidImage(reason=f"Image {image_ref} could not be found.") from None
    if image.status != "active":
        raise errors.InvalidImage(reason=f"Image {image_ref} is not active.")
    virtual = image.properties.get("virtual_size") or image.size or 0
    image_gb = max(1, math.ceil(int(virtual) / GIB))
    return _Origin(source=VolumeSource(kind="image", id=image.id, disk_format=image.disk_format),
                   min_size=image_gb, default_size=max(image_gb, image.min_disk),
                   min_disk=image.min_disk, bootable=True, image_metadata=image_metadata(image))


async def _origin(deps: VolumeDeps, ctx: RequestContext, session: AsyncSession,
                  new: NewVolume) -> _Origin:
    given = [k for k in ("snapshot_id", "source_volid", "image_ref") if getattr(new, k)]
    if len(given) > 1:
        raise errors.InvalidInput(reason="Only one of snapshot_id, source_volid and imageRef "
                                         "may be given.")
    if new.snapshot_id:
        snap = await snapshot_row(session, ctx, new.snapshot_id)
        if snap.status != states.AVAILABLE:
            raise errors.InvalidSnapshot(reason="Originating snapshot status must be one of "
                                                "'available' values")
        parent = await session.get(VolumeRow, snap.volume_id)
        return _Origin(VolumeSource(kind="snapshot", id=snap.id), min_size=snap.size,
                       default_size=snap.size, type_id=snap.volume_type_id,
                       zone=parent.availability_zone if parent else None, host=snap.host,
                       bootable=bool(parent and parent.bootable),
                       image_metadata=dict(parent.image_metadata or {}) if parent else {})
    if new.source_volid:
        src = await volume_row(session, ctx, new.source_volid)
        if src.status not in (states.AVAILABLE, states.IN_USE):
            raise errors.InvalidVolume(reason="Unable to clone volumes that are in an error "
                                              "state or are not available.")
        return _Origin(VolumeSource(kind="volume", id=src.id), min_size=src.size,
                       default_size=src.size, type_id=src.volume_type_id,
                       zone=src.availability_zone, host=src.host, bootable=src.bootable,
                       image_metadata=dict(src.image_metadata or {}))
    if new.image_ref:
        return await _from_image(deps, ctx, new.image_ref)
    return _Origin(VolumeSource())


def _size(new: NewVolume, origin: _Origin) -> int:
    size = new.size if new.size is not None else origin.default_size
    if size is None:
        raise errors.InvalidInput(reason="'size' is a required property")
    if size <= 0:
        raise errors.InvalidInput(reason=f"Volume size '{size}' must be an integer and greater "
                                         "than 0")
    if size < origin.min_disk:
        raise errors.InvalidInput(reason=f"Volume size {size}GB cannot be smaller than the "
                                         f"image minDisk size {origin.min_disk}GB.")
    if size < origin.min_size:
        if origin.source.kind == "image":
            raise errors.InvalidInput(reason=f"Image virtual size is {origin.min_size}GB and "
                                             f"doesn't fit in a volume of size {size}GB.")
        raise errors.InvalidInput(reason=f"Volume size '{size}'GB cannot be smaller than the "
                                         f"{origin.source.kind} size {origin.min_size}GB. They "
                                         "must be >= original size.")
    return size


async def _volume_type(deps: VolumeDeps, ctx: RequestContext, session: AsyncSession,
                       new: NewVolume, origin: _Origin) -> VolumeTypeRow:
    if new.volume_type:
        row = await types.find_type(session, ctx, new.volume_type)
        if origin.type_id and row.id != origin.type_id and origin.source.kind == "snapshot":
            raise errors.InvalidInput(reason="Invalid volume_type provided: the volume type must "
                                             "match the snapshot's.")
        return row
    if origin.type_id:
        found = await session.get(VolumeTypeRow, origin.type_id)
        if found is not None:
            return found
    return await types.default_type(session, deps)


async def create_volume(deps: VolumeDeps, ctx: RequestContext, new: NewVolume) -> Volume:
    deps.policy.authorize("volume:create", ctx, {"project_id": ctx.project_id})
    if new.image_ref:
        deps.policy.authorize("volume:create_from_image", ctx, {"project_id": ctx.project_id})
    project_id = ctx.project_id or ""
    async with deps.write() as session:
        origin = await _origin(deps, ctx, session, new)
        size = _size(new, origin)
        type_row = await _volume_type(deps, ctx, session, new, origin)
        zone = await zones.resolve(deps, session, new.availability_zone, origin.zone)
        await quotas.check(deps, session, project_id, type_row, volumes=1, gigabytes=size,
                           volume_size=size)
        row = VolumeRow(id=new_id(), project_id=project_id, user_id=ctx.user_id or "",
                        name=new.name, description=new.description, size=size,
                        status=states.CREATING, attach_status="detached",
                        availability_zone=zone, volume_type_id=type_row.id,
                        snapshot_id=new.snapshot_id, source_volid=new.source_volid,
                        image_id=origin.source.id if origin.source.kind == "image" else None,
                        bootable=origin.bootable, multiattach=new.multiattach,
                        image_metadata=origin.image_metadata, created_at=db.utcnow())
        session.add(row)
        await session.flush()
        for key, value in new.metadata.items():
            session.add(VolumeMetadataRow(volume_id=row.id, key=key, value=value))
        await session.flush()
        volume = await load_volume(session, row)
        specs = await types.specs_of(session, type_row.id)
    request = CreateRequest(volume_id=row.id, size=size, project_id=project_id,
                            availability_zone=zone, volume_type_id=type_row.id, extra_specs=specs,
                            source=origin.source, force_host=origin.host)
    try:
        await deps.scheduler.create_volume(ctx, request)
    except core_errors.NimbusError as exc:  # the bus refused it: never leave `creating` forever
        LOG.error("could not hand volume %s to the scheduler: %s", row.id, exc)
        await set_error(deps, row.id, f"The scheduler could not be reached: {exc}")
        raise
    return volume


async def set_error(deps: VolumeDeps, volume_id: str, reason: str) -> None:
    async with deps.write() as session:
        row = await session.get(VolumeRow, volume_id)
        if row is not None and row.status == states.CREATING:
            row.status, row.error_reason, row.updated_at = states.ERROR, reason[:255], db.utcnow()


async def get_volume(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> Volume:
    async with deps.read() as session:
        row = await volume_row(session, ctx, volume_id)
        deps.policy.authorize("volume:get", ctx, {"project_id": row.project_id})
        return await load_volume(session, row)


async def update_volume(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                        changes: dict[str, Any]) -> Volume:
    """`name`, `description` and `metadata` (which replaces the volume's metadata)."""
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume:update", ctx, {"project_id": row.project_id})
        if "name" in changes:
            row.name = changes["name"]
        if "description" in changes:
            row.description = changes["description"]
        if changes.get("metadata") is not None:
            await replace_metadata(session, row.id, changes["metadata"])
        row.updated_at = db.utcnow()
        await session.flush()
        return await load_volume(session, row)


async def replace_metadata(session: AsyncSession, volume_id: str, metadata: dict[str, str]) -> None:
    existing = {m.key: m for m in (await session.execute(select(VolumeMetadataRow).where(
        VolumeMetadataRow.volume_id == volume_id))).scalars()}
    for key, item in existing.items():
        if key not in metadata:
            await session.delete(item)
    for key, value in metadata.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(VolumeMetadataRow(volume_id=volume_id, key=key, value=value))


_NOT_DELETABLE = ("Invalid volume: Volume status must be available or error or error_restoring or "
                  "error_extending or error_managing and must not be migrating, attached, belong "
                  "to a group, have snapshots, awaiting a transfer, or be disassociated from "
                  "snapshots after volume transfer.")


async def delete_volume(deps: VolumeDeps, ctx: RequestContext, volume_id: str, *,
                        cascade: bool = False, force: bool = False) -> None:
    """Refused while attached, in a transitional status or with snapshots (unless cascade);
    the host deletes the data and then the row."""
    async with deps.write() as session:
        row = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume:force_delete" if force else "volume:delete", ctx,
                              {"project_id": row.project_id})
        allowed = states.FORCE_DELETABLE if force else states.DELETABLE
        attached = await session.scalar(select(func.count()).select_from(AttachmentRow).where(
            AttachmentRow.volume_id == row.id, AttachmentRow.attach_status != "detached"))
        if row.status not in allowed or (attached and not force):
            raise core_errors.BadRequest(_NOT_DELETABLE)
        snaps = list((await session.execute(select(SnapshotRow).where(
            SnapshotRow.volume_id == row.id))).scalars())
        if snaps and not cascade:
            raise core_errors.BadRequest(_NOT_DELETABLE)
        if any(s.status not in states.SNAPSHOT_DELETABLE for s in snaps):
            raise errors.InvalidVolume(reason="Snapshot of volume not in a deletable state.")
        host = row.host
        if host is None:  # never reached a backend: nothing to clean up there
            await session.delete(row)
            return
        for snap in snaps:
            snap.status, snap.updated_at = states.DELETING, db.utcnow()
        row.status, row.updated_at = states.DELETING, db.utcnow()
    for snap in snaps:
        await deps.volumes.delete_snapshot(ctx, snap.host or host, snap.id)
    await deps.volumes.delete_volume(ctx, host, row.id)


def volume_metadata(ctx: RequestContext, volume_id: str) -> metadata.Owner:
    async def load(session: AsyncSession) -> VolumeRow:
        return await volume_row(session, ctx, volume_id)

    return metadata.Owner("Volume", volume_id, VolumeMetadataRow, VolumeMetadataRow.volume_id,
                          "volume_id", load, read_rule="volume:get_volume_metadata",
                          write_rule="volume:update_volume_metadata")
