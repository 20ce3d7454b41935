"""The volume conductor's RPC endpoint (topic `volume-conductor`): the only path from a volume
host to the database. It writes what managers report: status changes (compare-and-swap on the
expected status), deletions, backend capacity and heartbeats. Handlers are idempotent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.core.service import DbHeartbeat, ServiceIdentity
from nimbus.volume import states
from nimbus.volume.models import BackendRow, SnapshotRow, VolumeRow
from nimbus.volume.objects import BackendReport
from nimbus.volume.service import messages

_VOLUME_FIELDS = {"status", "size", "error_reason", "launched_at", "bootable", "attach_status"}
_SNAPSHOT_FIELDS = {"status", "progress", "error_reason"}


def _values(updates: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    values = {k: v for k, v in updates.items() if k in allowed}
    if values.get("launched_at") == "now":
        values["launched_at"] = db.utcnow()
    if isinstance(values.get("error_reason"), str):
        values["error_reason"] = values["error_reason"][:255]
    values["updated_at"] = db.utcnow()
    return values


class VolumeConductor:
    def __init__(self, factory: db.SessionFactory) -> None:
        self.factory = factory
        self._heartbeat = DbHeartbeat(factory)

    async def volume_update(self, ctx: RequestContext, volume_id: str, updates: dict[str, Any],
                            expected_status: list[str] | None = None) -> bool:
        statement = update(VolumeRow).where(VolumeRow.id == volume_id)
        if expected_status is not None:
            statement = statement.where(VolumeRow.status.in_(expected_status))
        async with db.transaction(self.factory) as session:
            done = await session.execute(statement.values(**_values(updates, _VOLUME_FIELDS)))
            changed = bool(getattr(done, "rowcount", 0))
            if changed and updates.get("status") == states.ERROR and \
                    expected_status == [states.CREATING]:
                row = await session.get(VolumeRow, volume_id)
                if row is not None:
                    messages.record(session, ctx, row.project_id, volume_id,
                                    messages.CREATE_FAILED)
            return changed

    async def volume_deleted(self, ctx: RequestContext, volume_id: str) -> None:
        async with db.transaction(self.factory) as session:
            await session.execute(delete(VolumeRow).where(VolumeRow.id == volume_id))

    async def snapshot_update(self, ctx: RequestContext, snapshot_id: str,
                              updates: dict[str, Any],
                              expected_status: list[str] | None = None) -> bool:
        statement = update(SnapshotRow).where(SnapshotRow.id == snapshot_id)
        if expected_status is not None:
            statement = statement.where(SnapshotRow.status.in_(expected_status))
        async with db.transaction(self.factory) as session:
            done = await session.execute(statement.values(**_values(updates, _SNAPSHOT_FIELDS)))
            return bool(getattr(done, "rowcount", 0))

    async def snapshot_deleted(self, ctx: RequestContext, snapshot_id: str) -> None:
        async with db.transaction(self.factory) as session:
            await session.execute(delete(SnapshotRow).where(SnapshotRow.id == snapshot_id))

    async def backend_report(self, ctx: RequestContext, report: dict[str, Any]) -> None:
        found = BackendReport.model_validate(report)
        async with db.transaction(self.factory) as session:
            row = await session.get(BackendRow, found.host)
            if row is None:
                row = BackendRow(host=found.host)
                session.add(row)
            row.backend, row.availability_zone = found.backend, found.availability_zone
            row.total_capacity_gb = found.total_capacity_gb
            row.free_capacity_gb = found.free_capacity_gb
            row.capabilities = dict(found.capabilities)
            row.updated_at = db.utcnow()

    async def service_heartbeat(self, ctx: RequestContext, binary: str, host: str,
                                topic: str | None) -> None:
        await self._heartbeat.beat(ServiceIdentity(binary, host, topic))

    async def work_on_host(self, ctx: RequestContext, host: str) -> dict[str, Any]:
        async with self.factory() as session:
            volumes = (await session.execute(select(VolumeRow.id, VolumeRow.status).where(
                VolumeRow.host == host))).all()
            snapshots = (await session.execute(select(SnapshotRow.id, SnapshotRow.status).where(
                SnapshotRow.host == host))).all()
        return {"volumes": [{"id": i, "status": s} for i, s in volumes],
                "snapshots": [{"id": i, "status": s} for i, s in snapshots]}

