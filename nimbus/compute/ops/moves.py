"""Moves on this host: the agent's half of resize, cold and live migration and evacuation.

A guest arriving here gets its ports bound to this host and, for a driver with a dataplane,
plugged (idempotent). Each host has taps of its own (dataplane.names.guest_tap), so the host
a guest leaves for good unplugs its own, even when both hosts run on one machine: the
source after a confirmed resize or a live migration, the destination after a revert or a
live migration that did not happen.

Its volumes follow it as in Nova (see ops/volumes.py): a cold move's source lets go of them
before the destination connects them; a live migration's destination connects a second
attachment before the guest moves, and the source hands the server over to it after.

Each handler does one step with the driver and reports it to the conductor
(`move_step_done`), which writes the database and tells the next host what to do.
`MoveHandlers` is mixed into ComputeAgent, so its RPC server exposes these methods.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, cast

from nimbus.compute import errors
from nimbus.compute.image_cache import ImageCache
from nimbus.compute.objects import FlavorSpec, MoveRequest, guest_user_data
from nimbus.compute.ops import networking, volumes
from nimbus.compute.ops.networking import NetworkInfo, Ports
from nimbus.compute.resource_tracker import ResourceTracker
from nimbus.compute.rpcapi import ConductorAPI
from nimbus.compute.states import TaskState
from nimbus.compute.virt.driver import (
    GuestSpec,
    MigrationAborted,
    SupportsColdMigration,
    SupportsLiveMigration,
    VirtDriver,
    VolumeConnection,
)
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)


def _cold(driver: VirtDriver) -> SupportsColdMigration:
    if not isinstance(driver, SupportsColdMigration):
        raise NotImplementedError(f"the {type(driver).__name__} driver cannot resize or migrate")
    return driver


def _live(driver: VirtDriver) -> SupportsLiveMigration:
    if not isinstance(driver, SupportsLiveMigration):
        raise NotImplementedError(f"the {type(driver).__name__} driver cannot live-migrate")
    return driver


class MoveHandlers:
    host: str
    driver: VirtDriver
    conductor: ConductorAPI
    tracker: ResourceTracker
    images: ImageCache
    ports: Ports
    _working_on: Callable[[str], AbstractAsyncContextManager[None]]

    def _agent(self) -> ComputeAgent:
        """This object as the agent it is mixed into (what the networking steps take)."""
        return cast("ComputeAgent", self)

    async def _report(self, ctx: RequestContext, move: MoveRequest, step: str, *,
                      power_state: int | None = None, error: BaseException | None = None,
                      aborted: bool = False, source_disk: str = "") -> None:
        if error is not None:
            LOG.warning("%s of %s failed on %s: %s", step, move.instance_uuid, self.host, error)
        await self.conductor.moves.move_step_done(
            ctx, move.migration_uuid, step, power_state=power_state,
            error=None if error is None else (str(error) or type(error).__name__),
            aborted=aborted, source_disk=source_disk)
        self.tracker.changed()

    async def _guest_spec(self, ctx: RequestContext, move: MoveRequest, flavor: FlavorSpec, *,
                          with_image: bool,
                          connections: tuple[VolumeConnection, ...] = ()) -> GuestSpec:
        """The guest at this host, its ports bound here and its volumes connected here."""
        info = await self.conductor.network_info(ctx, move.instance_uuid)
        await self._bind_ports(info)
        boot = await self.images.boot_files(move.image_id if with_image else None)
        return boot.apply(GuestSpec(
            uuid=move.instance_uuid, name=move.hostname, vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
            user_data=guest_user_data(move.user_data),
            metadata=tuple(sorted(move.metadata.items())),
            vifs=await networking.plug_vifs(self._agent(), networking.vifs(info)),
            power_on=move.power_on, volumes=connections))

    async def _unplug(self, ctx: RequestContext, uuid: str) -> None:
        """The guest has left this host: remove this host's taps of its ports (best effort:
        the move is done all the same, and a tap left over carries nothing: no QEMU holds it)."""
        try:
            await networking.unplug_vifs(self._agent(),
                                         await self.conductor.network_info(ctx, uuid))
        except Exception as exc:
            LOG.warning("could not unplug the ports of %s: %s", uuid, exc)

    async def _bind_ports(self, info: NetworkInfo) -> None:
        """The instance's ports follow it to this host (binding:host_id)."""
        token = await self.ports.token()
        for entry in info:
            await self.ports.network.update_port(token, entry["port_id"],
                                                 {"binding:host_id": self.host})

    # -- resize and cold migration ---------------------------------------------------------

    async def resize_instance(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Source: stop the guest, keep it for a revert and offer its disks; let go of its
        volumes."""
        req = MoveRequest.model_validate(move)
        async with self._working_on(req.instance_uuid):
            try:
                disk = await _cold(self.driver).migrate_disk_and_power_off(req.instance_uuid)
                await volumes.disconnect_all(self._agent(), ctx, req.instance_uuid)
            except Exception as exc:
                await self._report(ctx, req, "resize_instance", error=exc)
                return
            await self._report(ctx, req, "resize_instance", source_disk=disk)

    async def finish_resize(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Destination: the guest with the new flavor."""
        req = MoveRequest.model_validate(move)
        uuid = req.instance_uuid
        async with self._working_on(uuid):
            if not await self.conductor.instance_update(
                    ctx, uuid, {"task_state": TaskState.RESIZE_FINISH},
                    expected_task_state=[TaskState.RESIZE_MIGRATED],
                    start_event="compute_finish_resize", host=self.host):
                return
            try:
                self.tracker.claim(uuid, req.flavor)
                spec = await self._guest_spec(
                    ctx, req, req.flavor, with_image=True,
                    connections=await volumes.reconnect_all(self._agent(), ctx, uuid))
                info = await _cold(self.driver).finish_migration(
                    spec, power_on=req.power_on, source_disk=req.source_disk)
            except Exception as exc:
                if not req.same_host:
                    self.tracker.release(uuid)
                await self.conductor.event_finish(ctx, uuid, "compute_finish_resize", self.host,
                                                  error=str(exc))
                await self._report(ctx, req, "finish_resize", error=exc)
                return
            await self.conductor.event_finish(ctx, uuid, "compute_finish_resize", self.host)
            await self._report(ctx, req, "finish_resize", power_state=info.power_state)

    async def confirm_resize(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Source: drop the kept guest."""
        req = MoveRequest.model_validate(move)
        async with self._working_on(req.instance_uuid):
            try:
                await _cold(self.driver).confirm_migration(req.instance_uuid,
                                                           same_host=req.same_host)
            except Exception as exc:
                await self._report(ctx, req, "confirm_resize", error=exc)
                return
            if not req.same_host:
                self.tracker.release(req.instance_uuid)
                await self._unplug(ctx, req.instance_uuid)
            await self._report(ctx, req, "confirm_resize")

    async def revert_resize(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Destination: remove the new guest and let go of its volumes; the source brings
        back the old one."""
        req = MoveRequest.model_validate(move)
        async with self._working_on(req.instance_uuid):
            try:
                await _cold(self.driver).revert_migration(req.instance_uuid,
                                                          same_host=req.same_host)
                await volumes.disconnect_all(self._agent(), ctx, req.instance_uuid)
            except Exception as exc:
                await self._report(ctx, req, "revert_resize", error=exc)
                return
            if not req.same_host:
                self.tracker.release(req.instance_uuid)
                await self._unplug(ctx, req.instance_uuid)
            await self._report(ctx, req, "revert_resize")

    async def finish_revert_resize(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Source: the kept guest runs again with its old flavor, its ports bound and its
        volumes connected here."""
        req = MoveRequest.model_validate(move)
        async with self._working_on(req.instance_uuid):
            try:
                ports = await self.conductor.network_info(ctx, req.instance_uuid)
                await self._bind_ports(ports)
                await networking.plug_vifs(self._agent(), networking.vifs(ports))
                await volumes.reconnect_all(self._agent(), ctx, req.instance_uuid)
                info = await _cold(self.driver).finish_revert_migration(
                    req.instance_uuid, power_on=req.power_on)
            except Exception as exc:
                await self._report(ctx, req, "finish_revert_resize", error=exc)
                return
            self.tracker.claims[req.instance_uuid] = req.old_flavor
            await self._report(ctx, req, "finish_revert_resize", power_state=info.power_state)

    # -- live migration --------------------------------------------------------------------

    async def check_can_live_migrate_source(self, ctx: RequestContext,
                                            block_migration: bool) -> None:
        """Source: raise InvalidSharedStorage when only a block migration can move this
        host's guests and another kind was asked for. Changes nothing."""
        if not block_migration and not _live(self.driver).shares_storage():
            raise errors.InvalidSharedStorage(
                path=self.host, reason="Shared storage live-migration requires either shared "
                "storage or boot-from-volume with no local disks.")

    async def prepare_live_migration(self, ctx: RequestContext, move: dict[str, Any]) -> str:
        """Destination: ready to receive; the URI the source sends the guest to. The guest
        arrives with the devices it has: the host makes its root disk on the image (from its
        own image cache) for the block copy, and connects the volumes here too, with
        attachments of its own. On failure the conductor rolls back here."""
        req = MoveRequest.model_validate(move)
        self.tracker.claim(req.instance_uuid, req.flavor)
        try:
            connections = await volumes.connect_incoming(self._agent(), ctx, req.instance_uuid)
            spec = await self._guest_spec(ctx, req, req.flavor, with_image=True,
                                          connections=connections)
            return await _live(self.driver).prepare_incoming(spec)
        except Exception:
            self.tracker.release(req.instance_uuid)
            raise

    async def live_migration(self, ctx: RequestContext, move: dict[str, Any],
                             dest_uri: str) -> None:
        """Source: send the running guest, then remove what is left of it here."""
        req = MoveRequest.model_validate(move)
        uuid = req.instance_uuid
        async with self._working_on(uuid):
            await self.conductor.event_start(ctx, uuid, "compute_live_migration", self.host)
            try:
                await _live(self.driver).live_migrate(uuid, dest_uri,
                                                      block_migration=req.block_migration)
            except Exception as exc:
                await self.conductor.event_finish(ctx, uuid, "compute_live_migration",
                                                  self.host, error=str(exc))
                await self._report(ctx, req, "live_migration", error=exc,
                                   aborted=isinstance(exc, MigrationAborted))
                return
            await self.driver.destroy(uuid)
            self.tracker.release(uuid)
            try:
                await volumes.hand_over(self._agent(), ctx, uuid, req.dest_compute or "")
            except Exception as exc:  # the guest moved all the same
                LOG.warning("could not hand the volumes of %s over: %s", uuid, exc)
            await self._unplug(ctx, uuid)
            await self.conductor.event_finish(ctx, uuid, "compute_live_migration", self.host)
            await self._report(ctx, req, "live_migration")

    async def post_live_migration(self, ctx: RequestContext, move: dict[str, Any]) -> int:
        req = MoveRequest.model_validate(move)
        info = await _live(self.driver).finish_incoming(req.instance_uuid)
        self.tracker.changed()
        return int(info.power_state)

    async def rollback_live_migration(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        req = MoveRequest.model_validate(move)
        await _live(self.driver).abort_incoming(req.instance_uuid)
        await volumes.drop_incoming(self._agent(), ctx, req.instance_uuid)
        self.tracker.release(req.instance_uuid)
        await self._unplug(ctx, req.instance_uuid)
        self.tracker.changed()

    async def live_migration_control(self, ctx: RequestContext, instance_uuid: str,
                                     command: str) -> None:
        """force_complete or abort, while live_migration runs (so without its lock)."""
        driver = _live(self.driver)
        if command == "abort":
            await driver.live_migration_abort(instance_uuid)
        else:
            await driver.live_migration_force_complete(instance_uuid)

    # -- evacuation ------------------------------------------------------------------------

    async def rebuild_evacuated(self, ctx: RequestContext, move: dict[str, Any]) -> None:
        """Destination: the guest built again from its image, its source host being down: the
        volumes' attachments to the source are replaced by ones connected here."""
        req = MoveRequest.model_validate(move)
        uuid = req.instance_uuid
        async with self._working_on(uuid):
            await self.conductor.event_start(ctx, uuid, "compute_rebuild_instance", self.host)
            try:
                self.tracker.claim(uuid, req.flavor)
                await volumes.disconnect_all(self._agent(), ctx, uuid)
                spec = await self._guest_spec(
                    ctx, req, req.flavor, with_image=True,
                    connections=await volumes.reconnect_all(self._agent(), ctx, uuid))
                # Rebuilt running, whatever it was, as Nova does before 2.95.
                info = await self.driver.spawn(dataclasses.replace(spec, power_on=True))
            except Exception as exc:
                self.tracker.release(uuid)
                await self.conductor.event_finish(ctx, uuid, "compute_rebuild_instance",
                                                  self.host, error=str(exc))
                await self._report(ctx, req, "rebuild_evacuated", error=exc)
                return
            await self.conductor.event_finish(ctx, uuid, "compute_rebuild_instance", self.host)
            await self._report(ctx, req, "rebuild_evacuated", power_state=info.power_state)

    async def clean_evacuated(self, ctx: RequestContext) -> None:
        """At start-up: guests evacuated off this host while it was down are removed here
        (their ports stay: they are bound to the new host)."""
        for move in await self.conductor.moves.evacuations_from(ctx, self.host):
            LOG.info("removing %s: it was evacuated to %s", move.instance_uuid,
                     move.dest_compute)
            await self.driver.destroy(move.instance_uuid)
            self.tracker.release(move.instance_uuid)
            await self._report(ctx, move, "evacuation_cleaned")

