"""Server actions that move a server between hosts: resize (with confirm and revert), cold
and live migration, evacuation, and the control of a running live migration.

Each checks policy and state, swaps task_state from None (409 when another action won),
writes the migration record, and casts the conductor, which schedules and drives the agents
(conductor/moves.py). Nova's rules and messages throughout.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow, MigrationRow
from nimbus.compute.objects import FlavorSpec
from nimbus.compute.service import compute_services, disk_config, instances, migrations, quotas, servers
from nimbus.compute.service.server_actions import _invalid
from nimbus.compute.service.servers import visible_row
from nimbus.compute.states import TaskState, VmState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext


async def _start(session: AsyncSession, deps: ComputeDeps, ctx: RequestContext, server_id: str,
                 rule: str, action: str, allowed: tuple[VmState, ...],
                 task: TaskState) -> InstanceRow:
    """The server, swapped from a resting state to `task`, with its action started."""
    row = await visible_row(session, ctx, server_id)
    deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
    _check_startable(ctx, row, action, allowed)
    if not await instances.compare_and_swap(session, row.uuid, {"task_state": task},
                                            expected_task_state=[None]):
        raise _invalid(row, action)
    await instances.start_action(session, ctx, row.uuid, action)
    return row


def _check_startable(ctx: RequestContext, row: InstanceRow, action: str,
                     allowed: tuple[VmState, ...]) -> None:
    """409 unless the server may begin `action` (unlocked, or an admin asks; in one of the
    `allowed` states, on a host)."""
    if row.locked and not ctx.is_admin:
        raise errors.InstanceLocked(server_id=row.uuid)
    if row.vm_state not in allowed or row.host is None:
        raise _invalid(row, action)


async def _target_host(session: AsyncSession, row: InstanceRow, host: str | None) -> None:
    """A requested destination exists and differs from the source (400 otherwise)."""
    if host is None:
        return
    if await compute_services.compute_service(session, host) is None:
        raise core_errors.BadRequest(f"Compute host {host} could not be found.")
    if host == row.host:
        raise core_errors.BadRequest("The target host can't be the same one.")


# -- resize and cold migration --------------------------------------------------------------

async def resize(deps: ComputeDeps, ctx: RequestContext, server_id: str, flavor_ref: str,
                 disk: str | None = None) -> None:
    """To another flavor; `disk` (AUTO or MANUAL) changes the server's OS-DCF:diskConfig."""
    async with deps.write() as session:
        new = await servers.resolve_flavor(session, ctx, flavor_ref)
        row = await _start(session, deps, ctx, server_id, "os_compute_api:servers:resize",
                           "resize", (VmState.ACTIVE, VmState.STOPPED), TaskState.RESIZE_PREP)
        if row.flavor.get("flavorid") == new.flavorid:
            raise core_errors.BadRequest("When resizing, instances must change flavor!")
        if new.root_gb and new.root_gb < int(row.flavor.get("root_gb", 0)):
            raise core_errors.BadRequest("Resize error: Unable to resize disk down.")
        await _quota_for_growth(deps, session, row, new)
        if disk is not None:
            row.system_metadata = disk_config.with_choice(row.system_metadata, disk == "AUTO")
        migration = await migrations.create(session, ctx, row, migrations.RESIZE,
                                            "pre-migrating", new_flavor=new.model_dump(mode="json"))
        migration_uuid = migration.uuid
    await deps.conductor.moves.migrate_server(ctx, migration_uuid, None)


async def _quota_for_growth(deps: ComputeDeps, session: AsyncSession, row: InstanceRow,
                            new: FlavorSpec) -> None:
    """A bigger flavor must fit the project's cores and ram quotas (403 otherwise, as Nova's
    resize; only the growth counts, the server's usage being its current flavor's)."""
    limit = await quotas.limits(session, deps.settings.compute.quotas, row.project_id)
    if quotas.unlimited(limit):
        return
    used = await quotas.instance_usage(session, row.project_id)
    for resource, growth, in_use in (("cores", new.vcpus - row.vcpus, used.cores),
                                     ("ram", new.memory_mb - row.memory_mb, used.ram)):
        if growth > 0 and 0 <= limit[resource] < in_use + growth:
            raise errors.QuotaExceeded(resources=resource, requested=growth, used=in_use,
                                       allowed=limit[resource])


async def migrate(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                  host: str | None) -> None:
    """Cold migration: the same flavor on another host, then VERIFY_RESIZE as a resize."""
    async with deps.write() as session:
        if host is not None:
            deps.policy.authorize("os_compute_api:os-migrate-server:migrate:host", ctx, {})
        row = await _start(session, deps, ctx, server_id,
                           "os_compute_api:os-migrate-server:migrate", "migrate",
                           (VmState.ACTIVE, VmState.STOPPED), TaskState.RESIZE_PREP)
        await _target_host(session, row, host)
        migration = await migrations.create(session, ctx, row, migrations.MIGRATION,
                                            "pre-migrating")
        migration_uuid = migration.uuid
    await deps.conductor.moves.migrate_server(ctx, migration_uuid, host)


async def _finished_migration(session: AsyncSession, deps: ComputeDeps, ctx: RequestContext,
                              server_id: str, rule: str, action: str) -> InstanceRow:
    row = await visible_row(session, ctx, server_id)
    deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
    if row.locked and not ctx.is_admin:
        raise errors.InstanceLocked(server_id=server_id)
    if row.vm_state != VmState.RESIZED:
        raise _invalid(row, action)
    return row


async def confirm_resize(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.write() as session:
        row = await _finished_migration(session, deps, ctx, server_id,
                                        "os_compute_api:servers:confirm_resize", "confirmResize")
        migration = await migrations.latest(session, row.uuid, (migrations.FINISHED,))
        if migration is None or not await migrations.set_status(
                session, migration.uuid, "confirming", expected=(migrations.FINISHED,)):
            raise core_errors.BadRequest("Instance has not been resized.")
        await instances.start_action(session, ctx, row.uuid, "confirmResize")
        migration_uuid = migration.uuid
    await deps.conductor.moves.confirm_resize(ctx, migration_uuid)


async def revert_resize(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.write() as session:
        row = await _finished_migration(session, deps, ctx, server_id,
                                        "os_compute_api:servers:revert_resize", "revertResize")
        migration = await migrations.latest(session, row.uuid, (migrations.FINISHED,))
        if migration is None:
            raise core_errors.BadRequest("Instance has not been resized.")
        # Reverting a resize down grows the server again, maybe past what the project has
        # used since: Nova checks the quota here too.
        await _quota_for_growth(deps, session, row, FlavorSpec.model_validate(
            migration.old_flavor))
        if not await instances.compare_and_swap(
                session, row.uuid, {"task_state": TaskState.RESIZE_REVERTING},
                expected_task_state=[None]) or not await migrations.set_status(
                session, migration.uuid, "reverting", expected=(migrations.FINISHED,)):
            raise _invalid(row, "revertResize")
        await instances.start_action(session, ctx, row.uuid, "revertResize")
        migration_uuid = migration.uuid
    await deps.conductor.moves.revert_resize(ctx, migration_uuid)


# -- live migration ---------------------------------------------------------------------------

_LIVE_STATES = (VmState.ACTIVE, VmState.PAUSED)


async def _live_precheck(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                         rule: str) -> None:
    """The source's pre-check of a live migration without block migration, before anything
    is written (and outside a transaction: it is an RPC call). The server's state is checked
    first, as _start checks it (409), since Nova checks the state first too."""
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
        _check_startable(ctx, row, "live-migration", _LIVE_STATES)
        if row.task_state is not None:
            raise _invalid(row, "live-migration")
        source = row.host
    assert source is not None  # _check_startable: the server is on a host
    await deps.agents.moves.check_can_live_migrate_source(ctx, source, False)


async def live_migrate(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                       host: str | None, block_migration: bool | None, *,
                       checks_now: bool = False) -> None:
    """`block_migration` None is "auto": the fake and QEMU hosts share no storage here, so
    auto means a block migration. With `checks_now` (before 2.34) the source's pre-check
    runs first and its refusal (InvalidSharedStorage, 400) leaves everything as it was;
    otherwise the conductor runs it and a refusal ends the migration in error."""
    rule = "os_compute_api:os-migrate-server:migrate_live"
    if checks_now and block_migration is False:
        await _live_precheck(deps, ctx, server_id, rule)
    async with deps.write() as session:
        row = await _start(session, deps, ctx, server_id, rule, "live-migration",
                           _LIVE_STATES, TaskState.MIGRATING)
        await _target_host(session, row, host)
        migration = await migrations.create(
            session, ctx, row, migrations.LIVE, "accepted",
            block_migration=True if block_migration is None else block_migration)
        migration_uuid = migration.uuid
    await deps.conductor.moves.live_migrate_instance(ctx, migration_uuid, host)


async def _live_migration(session: AsyncSession, deps: ComputeDeps, ctx: RequestContext,
                          server_id: str, migration_id: str, rule: str) -> tuple[InstanceRow,
                                                                                 MigrationRow]:
    row = await visible_row(session, ctx, server_id)
    deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
    migration = None
    if migration_id.isdigit():
        migration = (await session.execute(select(MigrationRow).where(
            MigrationRow.id == int(migration_id),
            MigrationRow.instance_uuid == row.uuid))).scalar()
    if migration is None:
        raise errors.MigrationNotFound(migration_id=migration_id)
    return row, migration


async def live_migration_control(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                                 migration_id: str, command: str,
                                 version: tuple[int, int]) -> None:
    """force_complete (2.22) or abort (2.24; also queued or preparing ones from 2.65)."""
    rule = ("os_compute_api:servers:migrations:force_complete" if command == "force_complete"
            else "os_compute_api:servers:migrations:delete")
    action = "force_complete" if command == "force_complete" else "abort live migration"
    async with deps.read() as session:
        row, migration = await _live_migration(session, deps, ctx, server_id, migration_id, rule)
        if row.task_state != TaskState.MIGRATING:
            raise _invalid(row, action)
        allowed = ("running",) if command == "force_complete" or version < (2, 65) \
            else ("queued", "preparing", "running")
        if migration.migration_type != migrations.LIVE or migration.status not in allowed:
            raise errors.InvalidMigrationState(migration_id=migration_id, server_id=row.uuid,
                                               state=migration.status, action=action)
        source = migration.source_compute or ""
        instances_uuid, migration_uuid = row.uuid, migration.uuid
    if command == "abort" and migration.status != "running":
        async with deps.write() as session:  # not sent yet: the conductor stops before sending
            if await migrations.set_status(session, migration_uuid, "cancelled",
                                           expected=("queued", "preparing")):
                return
    await deps.agents.moves.live_migration_control(ctx, source, instances_uuid, command)


async def list_server_migrations(deps: ComputeDeps, ctx: RequestContext,
                                 server_id: str) -> list[MigrationRow]:
    """The server's live migrations still under way (Nova lists only those)."""
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:servers:migrations:index", ctx,
                              {"project_id": row.project_id})
        return list((await session.execute(select(MigrationRow).where(
            MigrationRow.instance_uuid == row.uuid, MigrationRow.migration_type == migrations.LIVE,
            MigrationRow.status.in_(migrations.LIVE_IN_PROGRESS)).order_by(
            MigrationRow.created_at.desc(), MigrationRow.id.desc()))).scalars())


async def get_server_migration(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                               migration_id: str) -> MigrationRow:
    async with deps.read() as session:
        row, migration = await _live_migration(session, deps, ctx, server_id, migration_id,
                                               "os_compute_api:servers:migrations:show")
        if migration.migration_type != migrations.LIVE \
                or migration.status not in migrations.LIVE_IN_PROGRESS:
            raise core_errors.NotFound(f"In-progress live migration {migration_id} is not found "
                                       f"for server {row.uuid}.")
        return migration


# -- evacuation -------------------------------------------------------------------------------

async def evacuate(deps: ComputeDeps, ctx: RequestContext, server_id: str, host: str | None,
                   admin_pass: str | None, on_shared_storage: bool) -> str:
    """Rebuild the server elsewhere because its host is down; the admin password it gets."""
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-evacuate", ctx, {"project_id": row.project_id})
        if host is not None:
            if await compute_services.compute_service(session, host) is None:
                raise errors.ComputeHostNotFound(host=host)
            if host == row.host:
                raise core_errors.BadRequest("The target host can't be the same one.")
        source = await compute_services.compute_service(session, row.host) if row.host else None
        if source is not None and compute_services.is_up(
                source, db.utcnow(), deps.settings.compute.service_down_time):
            raise core_errors.BadRequest(f"Compute service of {row.host} is still in use.")
        row = await _start(session, deps, ctx, server_id, "os_compute_api:os-evacuate",
                           "evacuate", (VmState.ACTIVE, VmState.STOPPED, VmState.ERROR),
                           TaskState.REBUILDING)
        migration = await migrations.create(session, ctx, row, migrations.EVACUATION, "accepted")
        migration_uuid = migration.uuid
    await deps.conductor.moves.evacuate_instance(ctx, migration_uuid, host)
    return admin_pass or secrets.token_urlsafe(9)
