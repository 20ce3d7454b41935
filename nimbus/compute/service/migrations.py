"""Migration records (Nova's `migrations`): created by the API when a move starts, advanced
by the conductor with a compare-and-swap on the expected status, listed by os-migrations.
Callers bring the session."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid as uuidlib
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.models import FlavorRow, InstanceRow, MigrationRow
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer

RESIZE, MIGRATION, LIVE, EVACUATION = "resize", "migration", "live-migration", "evacuation"

# Statuses of a live migration still under way (GET /servers/{id}/migrations lists them).
LIVE_IN_PROGRESS = ("queued", "accepted", "preparing", "running")
# A resize or cold migration waiting for confirm or revert.
FINISHED = "finished"
# Nova's in-progress moves, which keep a compute service from being deleted: a resize waiting
# for confirm counts, an evacuation done at its destination does not.
IN_PROGRESS = ("pre-migrating", "migrating", "post-migrating", "finished", "confirming",
               "reverting", *LIVE_IN_PROGRESS)
# Moves not over yet, whatever their kind: their uuid may still hold allocations.
UNFINISHED = ("pre-migrating", "migrating", "post-migrating", "finished", "confirming",
              "reverting", *LIVE_IN_PROGRESS, "done")


async def _flavor_id(session: AsyncSession, flavorid: str) -> int | None:
    found: int | None = (await session.execute(select(FlavorRow.id).where(
        FlavorRow.flavorid == flavorid))).scalar()
    return found


async def create(session: AsyncSession, ctx: RequestContext, row: InstanceRow,
                 migration_type: str, status: str, *, new_flavor: dict[str, Any] | None = None,
                 block_migration: bool = False) -> MigrationRow:
    """A new migration of `row` from its host; the flavor stays unless `new_flavor`."""
    old_id = await _flavor_id(session, str(row.flavor.get("flavorid")))
    new = new_flavor or row.flavor
    new_id = old_id if new_flavor is None else await _flavor_id(session, str(new["flavorid"]))
    migration = MigrationRow(
        uuid=str(uuidlib.uuid4()), instance_uuid=row.uuid, project_id=ctx.project_id or "",
        user_id=ctx.user_id or "", migration_type=migration_type, status=status,
        source_compute=row.host, source_node=row.node, old_instance_type_id=old_id,
        new_instance_type_id=new_id, old_flavor=row.flavor, new_flavor=new,
        old_vm_state=row.vm_state, block_migration=block_migration)
    session.add(migration)
    await session.flush()
    return migration


async def set_status(session: AsyncSession, migration_uuid: str, status: str,
                     expected: tuple[str, ...] | None = None, **values: Any) -> bool:
    """Move the migration to `status` (and set `values`) if its status is one of `expected`
    (any, when None); whether it did."""
    query = update(MigrationRow).where(MigrationRow.uuid == migration_uuid)
    if expected is not None:
        query = query.where(MigrationRow.status.in_(expected))
    result = await session.execute(query.values(status=status, updated_at=db.utcnow(), **values)
                                   .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def latest(session: AsyncSession, instance_uuid: str, statuses: tuple[str, ...],
                 types: tuple[str, ...] | None = None) -> MigrationRow | None:
    query = select(MigrationRow).where(MigrationRow.instance_uuid == instance_uuid,
                                       MigrationRow.status.in_(statuses))
    if types is not None:
        query = query.where(MigrationRow.migration_type.in_(types))
    found: MigrationRow | None = (await session.execute(
        query.order_by(MigrationRow.id.desc()).limit(1))).scalar()
    return found


@dataclasses.dataclass(frozen=True)
class MigrationQuery:
    """GET /os-migrations' filters; the paging and time ones only from 2.59 and 2.66."""

    hidden: bool = False
    host: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    source_compute: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    limit: int | None = None
    marker: str | None = None


async def list_migrations(factory: db.SessionFactory, ctx: RequestContext, policy: Enforcer,
                          q: MigrationQuery, max_limit: int) -> list[MigrationRow]:
    """Newest first (Nova's created_at, id descending), a page after `marker`."""
    policy.authorize("os_compute_api:os-migrations:index", ctx, {})
    query = select(MigrationRow).where(MigrationRow.hidden.is_(q.hidden))
    if q.host is not None:
        query = query.where(or_(MigrationRow.source_compute == q.host,
                                MigrationRow.dest_compute == q.host))
    for column, value in ((MigrationRow.status, q.status),
                          (MigrationRow.instance_uuid, q.instance_uuid),
                          (MigrationRow.migration_type, q.migration_type),
                          (MigrationRow.source_compute, q.source_compute)):
        if value is not None:
            query = query.where(column == value)
    if q.changes_since is not None:
        query = query.where(MigrationRow.updated_at >= q.changes_since)
    if q.changes_before is not None:
        query = query.where(MigrationRow.updated_at <= q.changes_before)
    async with factory() as session:
        if q.marker is not None:
            marker = (await session.execute(select(MigrationRow).where(
                MigrationRow.uuid == q.marker))).scalar()
            if marker is None:
                raise core_errors.BadRequest(f"Marker {q.marker} could not be found.")
            query = query.where(or_(MigrationRow.created_at < marker.created_at,
                                    and_(MigrationRow.created_at == marker.created_at,
                                         MigrationRow.id < marker.id)))
        query = query.order_by(MigrationRow.created_at.desc(), MigrationRow.id.desc())
        query = query.limit(min(q.limit, max_limit) if q.limit is not None else max_limit)
        return list((await session.execute(query)).scalars())


async def leaving_host(session: AsyncSession, host: str) -> list[str]:
    """Before `host`'s compute service is deleted: refuses (409) while a move to or from it is
    in progress, and closes the evacuations off it that the host never came back to clean
    up; their migrations' uuids, whose allocations on it the caller deletes."""
    busy = (await session.execute(select(MigrationRow.id).where(
        or_(MigrationRow.source_compute == host, MigrationRow.dest_compute == host),
        MigrationRow.status.in_(IN_PROGRESS)).limit(1))).scalar()
    if busy is not None:
        raise errors.ServiceHasMigrations()
    left = list((await session.execute(select(MigrationRow.uuid).where(
        MigrationRow.source_compute == host, MigrationRow.migration_type == EVACUATION,
        MigrationRow.status == "done"))).scalars())
    for migration_uuid in left:
        await set_status(session, migration_uuid, "completed", expected=("done",))
    return left
