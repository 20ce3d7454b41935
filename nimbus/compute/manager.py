"""The compute agent's RPC endpoint (topic `compute`, one server per host).

    agent = ComputeAgent(host, FakeDriver(...), conductor, placement, image_cache,
                         Ports(network_client, service_token), Volumes(volume_client, service_token))
    await agent.start()       # reconcile with the hypervisor, report resources
    RpcServer(transport, "compute", host, agent)

Handlers only dispatch to ops/; the agent never opens the database: the conductor does that.
One lock per instance serialises work on it (a delete waits for its build to stop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from nimbus.compute.image_cache import ImageCache
from nimbus.compute.objects import BlockDevice, BuildRequest, InstanceOnHost, RequestedNetwork
from nimbus.compute.ops import (
    build,
    networking,
    power,
    rebuild,
    rescue,
    shelve,
    snapshot,
    steps,
    volumes,
)
from nimbus.compute.ops.moves import MoveHandlers
from nimbus.compute.ops.networking import Ports
from nimbus.compute.ops.volumes import Volumes
from nimbus.compute.resource_tracker import ResourceTracker
from nimbus.compute.rpcapi import ConductorAPI
from nimbus.compute.states import PowerState, TaskState, VmState
from nimbus.compute.virt.driver import VirtDriver
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.context import RequestContext
from nimbus.core.service import HeartbeatSink, ServiceIdentity
from nimbus.core.tasks import TaskGroup

LOG = logging.getLogger(__name__)

_BUILDING = {TaskState.SCHEDULING, TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING,
             TaskState.SPAWNING}


class ConductorHeartbeat(HeartbeatSink):
    """Agents report liveness through the conductor, never to the database."""

    def __init__(self, conductor: ConductorAPI) -> None:
        self.conductor = conductor

    async def beat(self, who: ServiceIdentity) -> None:
        await self.conductor.service_heartbeat(RequestContext.admin(), who.binary, who.host,
                                               who.topic)


class ComputeAgent(MoveHandlers):
    def __init__(self, host: str, driver: VirtDriver, conductor: ConductorAPI,
                 placement: PlacementClient, images: ImageCache, ports: Ports,
                 volumes: Volumes, dataplane_ns: str | None = None) -> None:
        self.host = host
        self.ports = ports
        self.volumes = volumes
        # The host namespace VIFs are plugged into, for drivers with needs_dataplane.
        self.dataplane_ns = dataplane_ns
        self.driver = driver
        self.conductor = conductor
        self.images = images
        self.tracker = ResourceTracker(host, driver, placement, conductor)
        self.tasks = TaskGroup(f"compute@{host}")
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def _working_on(self, uuid: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:  # also when the handler is cancelled, so reconciliation sees it idle
            if not lock.locked() and self._locks.get(uuid) is lock:
                del self._locks[uuid]

    async def start(self) -> None:
        """Reconcile with the hypervisor, then report this host's resources."""
        ctx = RequestContext.admin()
        await self.reconcile(ctx)
        await self.tracker.update(ctx, force=True)
        self.tasks.start(self.tracker.report_changes(ctx), name=f"resource-reports@{self.host}")

    async def stop(self) -> None:
        await self.tasks.aclose()

    def schedule_tracker_update(self, ctx: RequestContext) -> None:
        """Refresh placement and os-hypervisors soon, once for a burst of changes."""
        self.tracker.changed()

    async def reconcile(self, ctx: RequestContext) -> None:
        """The hypervisor's truth against the database, at start-up and periodically:
        builds that died with the agent go to ERROR, half-done deletes finish, power states
        are synced, and guests the database does not know are destroyed."""
        await self.clean_evacuated(ctx)
        known = {i.uuid: i for i in await self.conductor.instances_on_host(ctx, self.host)}
        guests = {g.uuid: g for g in await self.driver.list_guests()}
        for uuid, instance in known.items():
            guest = guests.get(uuid)
            if instance.task_state in steps.INTERRUPTED and uuid not in self._locks:
                await steps.recover(self, ctx, instance)
            if instance.task_state == TaskState.DELETING:
                await build.terminate(self, ctx, uuid)
            elif instance.task_state in _BUILDING and uuid not in self._locks:
                await self.conductor.build_failed(
                    ctx, uuid, self.host, retryable=False,
                    reason=f"The build of {uuid} stopped when the agent on {self.host} restarted.")
            elif guest is None:
                if instance.power_state != PowerState.NOSTATE:
                    await self.conductor.instance_update(ctx, uuid, {"power_state": PowerState.NOSTATE})
            else:
                await self._sync_power_state(ctx, instance, guest.power_state)
                self.tracker.claims.setdefault(uuid, instance.flavor)
        for uuid in set(guests) - set(known):
            LOG.warning("destroying guest %s: the database does not know it on %s", uuid, self.host)
            await self.driver.destroy(uuid)

    async def _sync_power_state(self, ctx: RequestContext, instance: InstanceOnHost,
                                power_state: PowerState) -> None:
        """Record what the hypervisor says; an active guest found off (its QEMU killed, or
        powered off from inside) is stopped, as Nova's power-state sync does, so that the API
        shows SHUTOFF and `server start` works."""
        changes: dict[str, Any] = {}
        if power_state != instance.power_state:
            changes["power_state"] = power_state
        if (instance.vm_state == VmState.ACTIVE and instance.task_state is None
                and power_state in (PowerState.SHUTDOWN, PowerState.CRASHED)):
            LOG.warning("instance %s is off on %s behind the API's back; stopping it",
                        instance.uuid, self.host)
            changes["vm_state"] = VmState.STOPPED
        if changes:
            # Only while no action runs on it: a start under way would be undone.
            await self.conductor.instance_update(
                ctx, instance.uuid, changes, expected_host=self.host,
                expected_task_state=[None] if "vm_state" in changes else None)

    # -- RPC handlers ----------------------------------------------------------------------

    async def build_and_run_instance(self, ctx: RequestContext, request: dict[str, Any]) -> None:
        req = BuildRequest.model_validate(request)
        async with self._working_on(req.instance_uuid):
            await build.build_and_run(self, ctx, req)

    async def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        async with self._working_on(instance_uuid):
            await build.terminate(self, ctx, instance_uuid)

    async def power_action(self, ctx: RequestContext, instance_uuid: str, action: str) -> None:
        async with self._working_on(instance_uuid):
            await power.power_action(self, ctx, instance_uuid, action)

    async def attach_interface(self, ctx: RequestContext, instance_uuid: str, project_id: str,
                               zone: str | None, requested: dict[str, Any]) -> dict[str, Any]:
        async with self._working_on(instance_uuid):
            return await networking.attach_interface(
                self, ctx, instance_uuid, project_id, zone,
                RequestedNetwork.model_validate(requested))

    async def detach_interface(self, ctx: RequestContext, instance_uuid: str,
                               port_id: str) -> None:
        async with self._working_on(instance_uuid):
            await networking.detach_interface(self, ctx, instance_uuid, port_id)

    async def attach_volume(self, ctx: RequestContext, instance_uuid: str,
                            device: dict[str, Any]) -> dict[str, Any]:
        async with self._working_on(instance_uuid):
            return await volumes.attach_volume(self, ctx, instance_uuid,
                                               BlockDevice.model_validate(device))

    async def detach_volume(self, ctx: RequestContext, instance_uuid: str,
                            device: dict[str, Any]) -> None:
        async with self._working_on(instance_uuid):
            await volumes.detach_volume(self, ctx, instance_uuid,
                                        BlockDevice.model_validate(device))

    async def swap_volume(self, ctx: RequestContext, instance_uuid: str, old: dict[str, Any],
                          new: dict[str, Any]) -> dict[str, Any]:
        async with self._working_on(instance_uuid):
            return await volumes.swap_volume(self, ctx, instance_uuid,
                                             BlockDevice.model_validate(old),
                                             BlockDevice.model_validate(new))

    async def console_output(self, ctx: RequestContext, instance_uuid: str,
                             max_bytes: int | None) -> str:
        return await self.driver.console_output(instance_uuid, max_bytes=max_bytes)

    # -- life-cycle actions: the API set the task state; ops/ take it from there.

    async def rescue_instance(self, ctx: RequestContext, instance_uuid: str,
                              image_id: str | None, admin_password: str) -> None:
        async with self._working_on(instance_uuid):
            await rescue.rescue(self, ctx, instance_uuid, image_id, admin_password)

    async def unrescue_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        async with self._working_on(instance_uuid):
            await rescue.unrescue(self, ctx, instance_uuid)

    async def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: str) -> None:
        async with self._working_on(instance_uuid):
            await rescue.trigger_crash_dump(self, ctx, instance_uuid)

    async def snapshot_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str,
                                backup_type: str | None = None,
                                rotation: int | None = None) -> None:
        async with self._working_on(instance_uuid):
            await snapshot.snapshot_instance(self, ctx, instance_uuid, image_id, backup_type,
                                             rotation)

    async def rebuild_instance(self, ctx: RequestContext, request: dict[str, Any],
                               stop_after: bool) -> None:
        req = BuildRequest.model_validate(request)
        async with self._working_on(req.instance_uuid):
            await rebuild.rebuild(self, ctx, req, stop_after)

    async def shelve_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str,
                              offload: bool) -> None:
        async with self._working_on(instance_uuid):
            await shelve.shelve(self, ctx, instance_uuid, image_id, offload)

    async def shelve_offload_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        async with self._working_on(instance_uuid):
            await shelve.shelve_offload(self, ctx, instance_uuid)

    async def offload_shelved(self, ctx: RequestContext, after: float) -> None:
        """The periodic task for shelved_offload_time > 0: offload the servers shelved here
        longer than `after` seconds."""
        for uuid in await self.conductor.shelved_to_offload(ctx, self.host, after):
            LOG.info("offloading %s: shelved on %s over %.0f s ago", uuid, self.host, after)
            await self.shelve_offload_instance(ctx, uuid)

    async def unshelve_on_host(self, ctx: RequestContext, instance_uuid: str,
                               image_id: str | None, system_metadata: dict[str, Any]) -> None:
        async with self._working_on(instance_uuid):
            await shelve.unshelve_on_host(self, ctx, instance_uuid, image_id, system_metadata)

    async def unshelve_instance(self, ctx: RequestContext, request: dict[str, Any],
                                system_metadata: dict[str, Any]) -> None:
        req = BuildRequest.model_validate(request)
        async with self._working_on(req.instance_uuid):
            await shelve.unshelve(self, ctx, req, system_metadata)
