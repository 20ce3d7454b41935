"""The conductor's half of moving instances between hosts: resize and cold migration, live
migration, evacuation. Mixed into ConductorManager, whose RPC server exposes these methods.

While a move runs, the migration's uuid is the placement consumer of the instance's
allocation on the source host (as Nova does) and the instance's own uuid holds the
destination's, claimed by the scheduler. Confirming, or finishing a live migration or an
evacuation, deletes the migration's; reverting, or failing, hands it back to the instance.

The agents report each step with `move_step_done`; the conductor writes the database and
tells the next agent what to do, so agents never talk to each other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from sqlalchemy import select

from nimbus.compute import errors
from nimbus.compute.models import ComputeNodeRow, InstanceMetadataRow, InstanceRow, MigrationRow
from nimbus.compute.objects import FlavorSpec, MoveRequest, RequestSpec, Selection
from nimbus.compute.rpcapi import ComputeAgentAPI, SchedulerAPI
from nimbus.compute.service import instances, migrations
from nimbus.compute.states import TaskState, VmState
from nimbus.core import db
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.context import RequestContext

LOG = logging.getLogger(__name__)

# A check of a loaded move before it is scheduled: False when it ended the move itself.
Precheck = Callable[[RequestContext, MoveRequest], Awaitable[bool]]

# The task state the API set for each kind of move.
_STARTED = {migrations.RESIZE: TaskState.RESIZE_PREP, migrations.MIGRATION: TaskState.RESIZE_PREP,
            migrations.LIVE: TaskState.MIGRATING, migrations.EVACUATION: TaskState.REBUILDING}
_EVENTS = {migrations.RESIZE: "conductor_migrate_server",
           migrations.MIGRATION: "conductor_migrate_server",
           migrations.LIVE: "conductor_live_migrate_instance",
           migrations.EVACUATION: "conductor_rebuild_server"}
# Every task state a move may leave an instance in while it runs.
_MOVING = [TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING, TaskState.RESIZE_MIGRATED,
           TaskState.RESIZE_FINISH, TaskState.RESIZE_REVERTING, TaskState.MIGRATING,
           TaskState.REBUILDING, TaskState.REBUILD_SPAWNING]


class ConductorMoves:
    factory: db.SessionFactory
    scheduler: SchedulerAPI
    agents: ComputeAgentAPI
    placement: PlacementClient
    allow_resize_to_same_host: bool

    # -- reading ---------------------------------------------------------------------------

    async def _load(self, migration_uuid: str) -> tuple[MoveRequest, dict[str, Any]] | None:
        """The move as agents get it, and the instance's saved request spec; None when the
        migration or its instance is gone."""
        async with self.factory() as session:
            mig = (await session.execute(select(MigrationRow).where(
                MigrationRow.uuid == migration_uuid))).scalar()
            row = await session.get(InstanceRow, mig.instance_uuid) if mig else None
            if mig is None or row is None or row.deleted_at is not None:
                return None
            metadata = {m.key: m.value for m in (await session.execute(select(
                InstanceMetadataRow).where(InstanceMetadataRow.instance_uuid == row.uuid)))
                .scalars()}
            move = MoveRequest(
                migration_uuid=mig.uuid, instance_uuid=row.uuid,
                migration_type=mig.migration_type, source_compute=mig.source_compute or "",
                source_node=mig.source_node, dest_compute=mig.dest_compute,
                dest_node=mig.dest_node, hostname=row.hostname, project_id=row.project_id,
                flavor=FlavorSpec.model_validate(mig.new_flavor),
                old_flavor=FlavorSpec.model_validate(mig.old_flavor), image_id=row.image_ref,
                user_data=row.user_data, metadata=metadata,
                power_on=mig.old_vm_state != VmState.STOPPED,
                block_migration=mig.block_migration)
            return move, dict(row.request_spec or {})

    # -- scheduling a move -----------------------------------------------------------------

    async def _select(self, ctx: RequestContext, move: MoveRequest, saved: dict[str, Any],
                      host: str | None) -> Selection:
        """A destination claimed for the instance with the move's flavor; raises NoValidHost."""
        same_ok = self.allow_resize_to_same_host and move.migration_type == migrations.RESIZE
        async with self.factory() as session:
            # A guest moves between hosts of one hypervisor type (fake to fake, QEMU to QEMU).
            hypervisor_type = (await session.execute(select(ComputeNodeRow.hypervisor_type).where(
                ComputeNodeRow.host == move.source_compute))).scalar()
        update = {"instance_uuids": [move.instance_uuid], "flavor": move.flavor,
                  "hypervisor_type": hypervisor_type,
                  "ignore_hosts": [] if same_ok else [move.source_compute],
                  "preferred_hosts": [], "force_host": None, "force_node": None,
                  "requested_host": host, "requested_node": None}
        if "spec" in saved:
            request = RequestSpec.model_validate(saved["spec"]).model_copy(update=update)
        else:
            async with self.factory() as session:
                row = await session.get(InstanceRow, move.instance_uuid)
                owner = (row.project_id, row.user_id) if row else (move.project_id, "")
            request = RequestSpec(project_id=owner[0], user_id=owner[1], **update)
        chosen = await self.scheduler.select_destinations(ctx, request, alternates=0)
        return chosen[0].selections[0]

    async def _schedule(self, ctx: RequestContext, migration_uuid: str, host: str | None, *,
                        precheck: Precheck | None = None) -> tuple[MoveRequest, Selection] | None:
        """Hand the source allocation to the migration and claim a destination; on failure
        give the allocation back and end the move (the instance keeps its vm_state).
        `precheck` runs first, on the loaded move; False ends it there (it ended the move)."""
        loaded = await self._load(migration_uuid)
        if loaded is None:
            return None
        move, saved = loaded
        if precheck is not None and not await precheck(ctx, move):
            return None
        started = db.utcnow()
        await self.placement.move_allocations(move.instance_uuid, migration_uuid)
        try:
            chosen = await self._select(ctx, move, saved, host)
        except errors.NoValidHost as exc:
            await self._abandon(ctx, move, exc.message, status="error", started=started)
            return None
        except Exception as exc:  # scheduler or placement broken: never leave it moving
            LOG.exception("scheduling the move %s failed", migration_uuid)
            await self._abandon(ctx, move, f"No valid host was found. {exc}", status="error",
                                started=started)
            return None
        move = move.model_copy(update={"dest_compute": chosen.host, "dest_node": chosen.node})
        async with db.transaction(self.factory) as session:
            await instances.event_finish(session, move.instance_uuid, ctx.request_id,
                                         _EVENTS[move.migration_type], None, started=started)
        return move, chosen

    async def _abandon(self, ctx: RequestContext, move: MoveRequest, message: str, *,
                       status: str, error_state: bool = False,
                       started: dt.datetime | None = None, back_to_source: bool = False) -> None:
        """End a move that did not happen: the instance gets its source allocation back and
        rests again (in ERROR, with a fault, when a host was left half-done)."""
        if not await self.placement.move_allocations(move.migration_uuid, move.instance_uuid):
            LOG.info("the migration %s held no allocation to give back", move.migration_uuid)
        updates: dict[str, Any] = {"task_state": None}
        if error_state:
            updates["vm_state"] = VmState.ERROR
        if back_to_source:
            updates.update(host=move.source_compute, node=move.source_node)
        async with db.transaction(self.factory) as session:
            await migrations.set_status(session, move.migration_uuid, status)
            if await instances.compare_and_swap(session, move.instance_uuid, updates,
                                                expected_task_state=[*_MOVING]):
                await instances.add_fault(session, move.instance_uuid, message[:255],
                                          code=500 if error_state else 400)
                await instances.event_finish(session, move.instance_uuid, ctx.request_id,
                                             _EVENTS[move.migration_type], None, error=message,
                                             started=started)
                await instances.finish_action(session, move.instance_uuid, ctx.request_id)
        LOG.warning("the %s of %s did not happen: %s", move.migration_type, move.instance_uuid,
                    message)

    # -- from the API ----------------------------------------------------------------------

    async def migrate_server(self, ctx: RequestContext, migration_uuid: str,
                             host: str | None) -> None:
        scheduled = await self._schedule(ctx, migration_uuid, host)
        if scheduled is None:
            return
        move, chosen = scheduled
        async with db.transaction(self.factory) as session:
            moving = await instances.compare_and_swap(
                session, move.instance_uuid, {"task_state": TaskState.RESIZE_MIGRATING},
                expected_task_state=[TaskState.RESIZE_PREP])
            if moving:
                await migrations.set_status(session, migration_uuid, "migrating",
                                            **_destination(chosen))
        if not moving:  # deleted meanwhile: its delete freed the rest
            await self.placement.delete_allocations(migration_uuid)
            return
        await self.agents.moves.resize_instance(ctx, move.source_compute, move)

    async def live_migrate_instance(self, ctx: RequestContext, migration_uuid: str,
                                    host: str | None) -> None:
        scheduled = await self._schedule(ctx, migration_uuid, host, precheck=self._live_precheck)
        if scheduled is None:
            return
        move, chosen = scheduled
        async with db.transaction(self.factory) as session:
            await migrations.set_status(session, migration_uuid, "preparing",
                                        **_destination(chosen))
        try:
            uri = await self.agents.moves.prepare_live_migration(ctx, chosen.host, move)
        except Exception as exc:
            await self._live_failed(ctx, move, f"Pre live migration failed at {chosen.host}: "
                                    f"{exc}", status="error")
            return
        async with db.transaction(self.factory) as session:
            running = await migrations.set_status(session, migration_uuid, "running",
                                                  expected=("preparing",))
        if not running:  # aborted while the destination prepared
            await self._live_failed(ctx, move, "The live migration was aborted.",
                                    status="cancelled")
            return
        await self.agents.moves.live_migration(ctx, move.source_compute, move, uri)

    async def _live_precheck(self, ctx: RequestContext, move: MoveRequest) -> bool:
        """Nova's pre-check at the source, before anything is claimed or touched; when it
        refuses, the migration ends in error and the server rests where it is, with a fault.
        (Before 2.34 the API ran it already and answered 400.)"""
        if move.block_migration:  # the only check there is: a block migration needs nothing
            return True
        started = db.utcnow()
        try:
            await self.agents.moves.check_can_live_migrate_source(
                ctx, move.source_compute, move.block_migration)
        except errors.InvalidSharedStorage as exc:
            message = exc.message
        except Exception as exc:  # the source cannot answer: it cannot send the guest either
            LOG.warning("the live-migration pre-check of %s failed", move.instance_uuid,
                        exc_info=True)
            message = f"Pre live migration check failed at {move.source_compute}: {exc}"
        else:
            return True
        await self._abandon(ctx, move, message, status="error", started=started)
        return False

    async def evacuate_instance(self, ctx: RequestContext, migration_uuid: str,
                                host: str | None) -> None:
        scheduled = await self._schedule(ctx, migration_uuid, host)
        if scheduled is None:
            return
        move, chosen = scheduled
        async with db.transaction(self.factory) as session:
            moving = await instances.compare_and_swap(
                session, move.instance_uuid, {"task_state": TaskState.REBUILD_SPAWNING,
                                              "host": chosen.host, "node": chosen.node},
                expected_task_state=[TaskState.REBUILDING])
            if moving:
                await migrations.set_status(session, migration_uuid, "pre-migrating",
                                            **_destination(chosen))
        if not moving:
            await self.placement.delete_allocations(migration_uuid)
            return
        await self.agents.moves.rebuild_evacuated(ctx, chosen.host, move)

    async def confirm_resize(self, ctx: RequestContext, migration_uuid: str) -> None:
        loaded = await self._load(migration_uuid)
        if loaded is not None:
            await self.agents.moves.confirm_resize(ctx, loaded[0].source_compute, loaded[0])

    async def revert_resize(self, ctx: RequestContext, migration_uuid: str) -> None:
        loaded = await self._load(migration_uuid)
        if loaded is not None and loaded[0].dest_compute is not None:
            await self.agents.moves.revert_resize(ctx, loaded[0].dest_compute, loaded[0])

    async def confirm_stale_resizes(self, window: float) -> None:
        """The periodic task: confirm resizes left in VERIFY_RESIZE longer than `window`
        seconds (Nova's resize_confirm_window)."""
        ctx = RequestContext.admin()
        before = db.utcnow() - dt.timedelta(seconds=window)
        async with self.factory() as session:
            stale = list((await session.execute(select(MigrationRow.uuid, MigrationRow.instance_uuid)
                                                .where(MigrationRow.status == migrations.FINISHED,
                                                       MigrationRow.updated_at < before))).all())
        for migration_uuid, instance_uuid in stale:
            async with db.transaction(self.factory) as session:
                if not await migrations.set_status(session, migration_uuid, "confirming",
                                                   expected=(migrations.FINISHED,)):
                    continue
                await instances.start_action(session, ctx, instance_uuid, "confirmResize")
            LOG.info("confirming the resize of %s after %.0f s in VERIFY_RESIZE", instance_uuid,
                     window)
            await self.confirm_resize(ctx, migration_uuid)

    # -- what agents report ----------------------------------------------------------------

    async def move_step_done(self, ctx: RequestContext, migration_uuid: str, step: str,
                             power_state: int | None = None, error: str | None = None,
                             aborted: bool = False, source_disk: str = "") -> None:
        loaded = await self._load(migration_uuid)
        if loaded is None:  # the instance was deleted meanwhile
            await self.placement.delete_allocations(migration_uuid)
            return
        move = loaded[0].model_copy(update={"source_disk": source_disk})
        if step == "live_migration":
            await self._live_done(ctx, move, error, aborted)
            return
        if error is not None:
            await self._step_failed(ctx, move, step, error)
            return
        await STEPS[step](self, ctx, move, power_state)

    async def _step_failed(self, ctx: RequestContext, move: MoveRequest, step: str,
                           error: str) -> None:
        message = f"The {step} of {move.instance_uuid} failed: {error}"
        if step == "confirm_resize":  # the destination runs it; the source's copy is lost
            await self.placement.delete_allocations(move.migration_uuid)
            async with db.transaction(self.factory) as session:
                await migrations.set_status(session, move.migration_uuid, "error")
                await instances.compare_and_swap(session, move.instance_uuid,
                                                 {"vm_state": VmState.ERROR, "task_state": None})
                await instances.add_fault(session, move.instance_uuid, message[:255])
            return
        # Anything else: the instance goes back to the source's allocation, in ERROR.
        await self._abandon(ctx, move, message, status="error", error_state=True,
                            back_to_source=True)

    async def _resize_instance_done(self, ctx: RequestContext, move: MoveRequest,
                                    power_state: int | None) -> None:
        """The source stopped the guest and sent it: the destination finishes."""
        async with db.transaction(self.factory) as session:
            ok = await instances.compare_and_swap(
                session, move.instance_uuid, {"task_state": TaskState.RESIZE_MIGRATED},
                expected_task_state=[TaskState.RESIZE_MIGRATING])
            await migrations.set_status(session, move.migration_uuid, "post-migrating")
        if ok and move.dest_compute is not None:
            await self.agents.moves.finish_resize(ctx, move.dest_compute, move)

    async def _finish_resize_done(self, ctx: RequestContext, move: MoveRequest,
                                  power_state: int | None) -> None:
        """The guest runs at the destination with the new flavor: VERIFY_RESIZE."""
        async with db.transaction(self.factory) as session:
            row = await session.get(InstanceRow, move.instance_uuid)
            if row is None or row.task_state != TaskState.RESIZE_FINISH:
                return
            _set_flavor(row, move.flavor)
            row.host, row.node = move.dest_compute, move.dest_node
            row.vm_state, row.task_state = VmState.RESIZED, None
            row.power_state = power_state if power_state is not None else row.power_state
            row.updated_at = db.utcnow()
            await migrations.set_status(session, move.migration_uuid, migrations.FINISHED)
            await instances.finish_action(session, move.instance_uuid, ctx.request_id)

    async def _confirm_resize_done(self, ctx: RequestContext, move: MoveRequest,
                                   power_state: int | None) -> None:
        """The source dropped its copy: its allocation goes too."""
        await self.placement.delete_allocations(move.migration_uuid)
        async with db.transaction(self.factory) as session:
            await migrations.set_status(session, move.migration_uuid, "confirmed")
            row = await session.get(InstanceRow, move.instance_uuid)
            if row is not None and row.vm_state == VmState.RESIZED:
                row.vm_state = VmState.ACTIVE if move.power_on else VmState.STOPPED
                row.updated_at = db.utcnow()
            await instances.finish_action(session, move.instance_uuid, ctx.request_id)

    async def _revert_resize_done(self, ctx: RequestContext, move: MoveRequest,
                                  power_state: int | None) -> None:
        """The destination removed its guest: the instance and its allocation go back to
        the source, which starts the kept guest again."""
        await self.placement.move_allocations(move.migration_uuid, move.instance_uuid)
        async with db.transaction(self.factory) as session:
            row = await session.get(InstanceRow, move.instance_uuid)
            if row is None or row.task_state != TaskState.RESIZE_REVERTING:
                return
            _set_flavor(row, move.old_flavor)
            row.host, row.node = move.source_compute, move.source_node
            row.updated_at = db.utcnow()
        await self.agents.moves.finish_revert_resize(ctx, move.source_compute, move)

    async def _finish_revert_done(self, ctx: RequestContext, move: MoveRequest,
                                  power_state: int | None) -> None:
        async with db.transaction(self.factory) as session:
            updates: dict[str, Any] = {
                "vm_state": VmState.ACTIVE if move.power_on else VmState.STOPPED,
                "task_state": None}
            if power_state is not None:
                updates["power_state"] = power_state
            await instances.compare_and_swap(session, move.instance_uuid, updates,
                                             expected_task_state=[TaskState.RESIZE_REVERTING])
            await migrations.set_status(session, move.migration_uuid, "reverted")
            await instances.finish_action(session, move.instance_uuid, ctx.request_id)

    async def _live_done(self, ctx: RequestContext, move: MoveRequest, error: str | None,
                         aborted: bool) -> None:
        if error is not None or move.dest_compute is None:
            await self._live_failed(ctx, move, error or "no destination",
                                    status="cancelled" if aborted else "failed")
            return
        try:
            power_state = await self.agents.moves.post_live_migration(ctx, move.dest_compute,
                                                                      move)
        except Exception as exc:  # the guest left the source: it can only be on the dest
            LOG.exception("post live migration of %s failed", move.instance_uuid)
            await self.placement.delete_allocations(move.migration_uuid)
            async with db.transaction(self.factory) as session:
                await migrations.set_status(session, move.migration_uuid, "error")
                await instances.compare_and_swap(session, move.instance_uuid, {
                    "vm_state": VmState.ERROR, "task_state": None, "host": move.dest_compute,
                    "node": move.dest_node})
                await instances.add_fault(session, move.instance_uuid,
                                          f"Post live migration failed: {exc}"[:255])
            return
        await self.placement.delete_allocations(move.migration_uuid)
        async with db.transaction(self.factory) as session:
            await migrations.set_status(session, move.migration_uuid, "completed")
            if await instances.compare_and_swap(session, move.instance_uuid, {
                    "task_state": None, "host": move.dest_compute, "node": move.dest_node,
                    "power_state": power_state}, expected_task_state=[TaskState.MIGRATING]):
                await instances.finish_action(session, move.instance_uuid, ctx.request_id)

    async def _live_failed(self, ctx: RequestContext, move: MoveRequest, message: str, *,
                           status: str) -> None:
        """The guest runs on at the source: the destination drops what it prepared."""
        if move.dest_compute is not None:
            try:
                await self.agents.moves.rollback_live_migration(ctx, move.dest_compute, move)
            except Exception:
                LOG.exception("rollback of %s at %s failed", move.instance_uuid,
                              move.dest_compute)
        await self._abandon(ctx, move, message, status=status)

    async def _rebuild_evacuated_done(self, ctx: RequestContext, move: MoveRequest,
                                      power_state: int | None) -> None:
        """The guest runs at the destination; the source's allocation stays with the
        migration until the source comes back and removes its copy."""
        async with db.transaction(self.factory) as session:
            updates: dict[str, Any] = {"vm_state": VmState.ACTIVE, "task_state": None}
            if power_state is not None:
                updates["power_state"] = power_state
            await instances.compare_and_swap(session, move.instance_uuid, updates,
                                             expected_task_state=[TaskState.REBUILD_SPAWNING])
            await migrations.set_status(session, move.migration_uuid, "done")
            await instances.finish_action(session, move.instance_uuid, ctx.request_id)

    async def _evacuation_cleaned(self, ctx: RequestContext, move: MoveRequest,
                                  power_state: int | None) -> None:
        await self.placement.delete_allocations(move.migration_uuid)
        async with db.transaction(self.factory) as session:
            await migrations.set_status(session, move.migration_uuid, "completed",
                                        expected=("done",))

    async def evacuations_from(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        async with self.factory() as session:
            found = (await session.execute(select(MigrationRow.uuid).where(
                MigrationRow.source_compute == host,
                MigrationRow.migration_type == migrations.EVACUATION,
                MigrationRow.status == "done"))).scalars().all()
        moves = [await self._load(uuid) for uuid in found]
        return [m[0].model_dump(mode="json") for m in moves if m is not None]

    async def release_migrations(self, instance_uuid: str) -> None:
        """The instance is gone: so is whatever its unfinished moves held in placement."""
        async with db.transaction(self.factory) as session:
            found = list((await session.execute(select(MigrationRow.uuid).where(
                MigrationRow.instance_uuid == instance_uuid,
                MigrationRow.status.in_(migrations.UNFINISHED)))).scalars())
            for migration_uuid in found:
                await migrations.set_status(session, migration_uuid, "error")
        for migration_uuid in found:
            await self.placement.delete_allocations(migration_uuid)


class _Destination(TypedDict):
    dest_compute: str
    dest_node: str
    dest_host: str


def _destination(chosen: Selection) -> _Destination:
    """The migration's destination columns for the host the scheduler chose (a host's name
    is also the address its peers reach it at)."""
    return _Destination(dest_compute=chosen.host, dest_node=chosen.node, dest_host=chosen.host)


def _set_flavor(row: InstanceRow, flavor: FlavorSpec) -> None:
    row.flavor = flavor.model_dump(mode="json")
    row.vcpus, row.memory_mb, row.root_gb = flavor.vcpus, flavor.memory_mb, flavor.root_gb


STEPS = {"resize_instance": ConductorMoves._resize_instance_done,
         "finish_resize": ConductorMoves._finish_resize_done,
         "confirm_resize": ConductorMoves._confirm_resize_done,
         "revert_resize": ConductorMoves._revert_resize_done,
         "finish_revert_resize": ConductorMoves._finish_revert_done,
         "rebuild_evacuated": ConductorMoves._rebuild_evacuated_done,
         "evacuation_cleaned": ConductorMoves._evacuation_cleaned}
