"""Domain values of block storage and the loads shared by its service modules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer
from nimbus.volume import errors
from nimbus.volume.models import (
    AttachmentRow,
    SnapshotMetadataRow,
    SnapshotRow,
    VolumeMetadataRow,
    VolumeRow,
    VolumeTypeRow,
)


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Attachment:
    id: str
    volume_id: str
    instance_uuid: str | None
    attached_host: str | None
    mountpoint: str | None
    attach_mode: str
    attach_status: str
    connector: dict[str, Any] | None
    connection_info: dict[str, Any] | None
    attach_time: dt.datetime | None
    detach_time: dt.datetime | None
    project_id: str

    @classmethod
    def from_row(cls, row: AttachmentRow, project_id: str) -> Attachment:
        return cls(row.id, row.volume_id, row.instance_uuid, row.attached_host, row.mountpoint,
                   row.attach_mode, row.attach_status, row.connector, row.connection_info,
                   row.attach_time, row.detach_time, project_id)


@dataclasses.dataclass(frozen=True)
class Volume:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int
    status: str
    attach_status: str
    migration_status: str | None
    availability_zone: str
    host: str | None
    volume_type_id: str
    volume_type_name: str
    snapshot_id: str | None
    source_volid: str | None
    bootable: bool
    readonly: bool | None
    multiattach: bool
    image_metadata: dict[str, Any]
    metadata: dict[str, str]
    attachments: list[Attachment]
    created_at: dt.datetime
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: VolumeRow, type_name: str, metadata: dict[str, str],
                 attachments: list[AttachmentRow]) -> Volume:
        return cls(row.id, row.project_id, row.user_id, row.name, row.description, row.size,
                   row.status, row.attach_status, row.migration_status, row.availability_zone,
                   row.host, row.volume_type_id, type_name, row.snapshot_id, row.source_volid,
                   row.bootable, row.readonly, row.multiattach, dict(row.image_metadata or {}),
                   metadata,
                   [Attachment.from_row(a, row.project_id) for a in attachments
                    if a.attach_status == "attached"],
                   row.created_at, row.updated_at)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    id: str
    volume_id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int
    status: str
    progress: str
    metadata: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: SnapshotRow, metadata: dict[str, str]) -> Snapshot:
        return cls(row.id, row.volume_id, row.project_id, row.user_id, row.name, row.description,
                   row.size, row.status, row.progress, metadata, row.created_at, row.updated_at)


async def volume_row(session: AsyncSession, ctx: RequestContext, volume_id: str, *,
                     for_update: bool = False) -> VolumeRow:
    """The caller's volume (any project's for an admin), else VolumeNotFound."""
    query = select(VolumeRow).where(VolumeRow.id == volume_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None or not ctx.may_see(row.project_id):
        raise errors.VolumeNotFound(volume_id=volume_id)
    return row


async def snapshot_row(session: AsyncSession, ctx: RequestContext, snapshot_id: str, *,
                       for_update: bool = False) -> SnapshotRow:
    query = select(SnapshotRow).where(SnapshotRow.id == snapshot_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None or not ctx.may_see(row.project_id):
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
    return row


async def load_volumes(session: AsyncSession, rows: list[VolumeRow]) -> list[Volume]:
    """Rows to domain values, with their metadata, attachments and type names in three queries."""
    ids = [r.id for r in rows]
    metadata: dict[str, dict[str, str]] = {i: {} for i in ids}
    attachments: dict[str, list[AttachmentRow]] = {i: [] for i in ids}
    type_names: dict[str, str] = {}
    if ids:
        for m in (await session.execute(select(VolumeMetadataRow).where(
                VolumeMetadataRow.volume_id.in_(ids)))).scalars():
            metadata[m.volume_id][m.key] = m.value
        for a in (await session.execute(select(AttachmentRow).where(
                AttachmentRow.volume_id.in_(ids)).order_by(AttachmentRow.created_at))).scalars():
            attachments[a.volume_id].append(a)
        type_ids = {r.volume_type_id for r in rows}
        type_names = dict((await session.execute(select(VolumeTypeRow.id, VolumeTypeRow.name).where(
            VolumeTypeRow.id.in_(type_ids)))).all())
    return [Volume.from_row(r, type_names.get(r.volume_type_id, r.volume_type_id), metadata[r.id],
                            attachments[r.id]) for r in rows]


async def load_volume(session: AsyncSession, row: VolumeRow) -> Volume:
    return (await load_volumes(session, [row]))[0]


async def load_snapshots(session: AsyncSession, rows: list[SnapshotRow]) -> list[Snapshot]:
    ids = [r.id for r in rows]
    metadata: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for m in (await session.execute(select(SnapshotMetadataRow).where(
                SnapshotMetadataRow.snapshot_id.in_(ids)))).scalars():
            metadata[m.snapshot_id][m.key] = m.value
    return [Snapshot.from_row(r, metadata[r.id]) for r in rows]


def authorize(policy: Enforcer, rule: str, ctx: RequestContext, project_id: str | None) -> None:
    policy.authorize(rule, ctx, {"project_id": project_id or ctx.project_id})
