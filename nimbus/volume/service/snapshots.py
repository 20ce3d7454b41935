"""Snapshots: create (a copy the volume's host keeps), show, update, delete, reset status."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.volume import errors, states
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import SnapshotMetadataRow, SnapshotRow, VolumeTypeRow
from nimbus.volume.service import metadata, quotas
from nimbus.volume.service.common import (
    Snapshot,
    load_snapshots,
    new_id,
    snapshot_row,
    volume_row,
)


@dataclasses.dataclass(frozen=True)
class NewSnapshot:
    volume_id: str | None
    name: str | None = None
    description: str | None = None
    force: bool = False
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)


async def create_snapshot(deps: VolumeDeps, ctx: RequestContext, new: NewSnapshot,
                          version: tuple[int, int]) -> Snapshot:
    """From an available volume, or an in-use one with `force` (or from 3.66 on)."""
    async with deps.write() as session:
        volume = await volume_row(session, ctx, new.volume_id or "None")
        deps.policy.authorize("volume:create_snapshot", ctx, {"project_id": volume.project_id})
        allowed = {states.AVAILABLE}
        if new.force or version >= (3, 66):
            allowed.add(states.IN_USE)
        if volume.status not in allowed:
            raise errors.InvalidVolume(reason=f"Volume {volume.id} status must be available, "
                                              f"but current status is: {volume.status}.")
        if volume.host is None:
            raise errors.InvalidVolume(reason=f"Volume {volume.id} is not on a backend.")
        type_row = await session.get(VolumeTypeRow, volume.volume_type_id)
        if type_row is not None:
            await quotas.check(deps, session, volume.project_id, type_row, snapshots=1,
                               gigabytes=volume.size)
        row = SnapshotRow(id=new_id(), volume_id=volume.id, project_id=volume.project_id,
                          user_id=ctx.user_id or "", name=new.name, description=new.description,
                          size=volume.size, status=states.CREATING, progress="0%",
                          volume_type_id=volume.volume_type_id, host=volume.host,
                          created_at=db.utcnow())
        session.add(row)
        await session.flush()
        for key, value in new.metadata.items():
            session.add(SnapshotMetadataRow(snapshot_id=row.id, key=key, value=value))
        await session.flush()
        snapshot = (await load_snapshots(session, [row]))[0]
    await deps.volumes.create_snapshot(ctx, volume.host, row.id, volume.id)
    return snapshot


async def get_snapshot(deps: VolumeDeps, ctx: RequestContext, snapshot_id: str) -> Snapshot:
    async with deps.read() as session:
        row = await snapshot_row(session, ctx, snapshot_id)
        deps.policy.authorize("volume:get_snapshot", ctx, {"project_id": row.project_id})
        return (await load_snapshots(session, [row]))[0]


async def update_snapshot(deps: VolumeDeps, ctx: RequestContext, snapshot_id: str,
                          changes: dict[str, Any]) -> Snapshot:
    async with deps.write() as session:
        row = await snapshot_row(session, ctx, snapshot_id, for_update=True)
        deps.policy.authorize("volume:update_snapshot", ctx, {"project_id": row.project_id})
        if "name" in changes:
            row.name = changes["name"]
        if "description" in changes:
            row.description = changes["description"]
        row.updated_at = db.utcnow()
        await session.flush()
        return (await load_snapshots(session, [row]))[0]


async def delete_snapshot(deps: VolumeDeps, ctx: RequestContext, snapshot_id: str, *,
                          force: bool = False) -> None:
    async with deps.write() as session:
        row = await snapshot_row(session, ctx, snapshot_id, for_update=True)
        rule = ("volume_extension:snapshot_admin_actions:force_delete" if force
                else "volume:delete_snapshot")
        deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
        if not force and row.status not in states.SNAPSHOT_DELETABLE:
            raise errors.InvalidSnapshot(reason="Volume Snapshot status must be available or "
                                                "error")
        if row.host is None:
            await session.delete(row)
            return
        row.status, row.updated_at = states.DELETING, db.utcnow()
        host = row.host
    await deps.volumes.delete_snapshot(ctx, host, snapshot_id)


async def reset_status(deps: VolumeDeps, ctx: RequestContext, snapshot_id: str,
                       status: str) -> None:
    deps.policy.authorize("volume_extension:snapshot_admin_actions:reset_status", ctx)
    if status not in states.SNAPSHOT_STATUSES:
        raise errors.InvalidInput(reason=f"Must specify a valid status, got {status!r}")
    async with deps.write() as session:
        row = await snapshot_row(session, ctx, snapshot_id, for_update=True)
        row.status, row.updated_at = status, db.utcnow()


def snapshot_metadata(ctx: RequestContext, snapshot_id: str) -> metadata.Owner:
    async def load(session: AsyncSession) -> SnapshotRow:
        return await snapshot_row(session, ctx, snapshot_id)

    return metadata.Owner("Snapshot", snapshot_id, SnapshotMetadataRow,
                          SnapshotMetadataRow.snapshot_id, "snapshot_id", load,
                          read_rule="volume:get_snapshot_metadata",
                          write_rule="volume:snapshot_metadata")


# Which statuses os-update_snapshot_status may move a snapshot to, from its current one.
_UPDATABLE = {states.CREATING: {states.CREATING, states.AVAILABLE, states.ERROR},
              states.DELETING: {states.DELETING, states.ERROR_DELETING}}


async def update_status(deps: VolumeDeps, ctx: RequestContext, snapshot_id: str, status: str,
                        progress: str | None) -> None:
    """What a service doing the snapshot itself (Nova's assisted snapshots) reports."""
    async with deps.write() as session:
        row = await snapshot_row(session, ctx, snapshot_id, for_update=True)
        deps.policy.authorize("snapshot_extension:snapshot_actions:update_snapshot_status", ctx,
                              {"project_id": row.project_id})
        allowed = _UPDATABLE.get(row.status, set())
        if status not in allowed:
            raise errors.InvalidSnapshot(reason=f"Snapshot status {row.status} not allowed for "
                                                f"update_snapshot_status to {status}")
        row.status, row.updated_at = status, db.utcnow()
        if progress is not None:
            row.progress = progress
