"""Building one instance on this host: claim, network, block devices, image, spawn.

Each step moves task_state forward with a compare-and-swap through the conductor, on the
condition that the instance is still on this host; a step that finds it changed (deleted, or
handed to another host by the conductor's reconciliation of stalled builds) stops, and a
spawned guest is destroyed again.
A failure hands the instance back to the conductor, which reschedules or records the fault.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from nimbus.compute.objects import BuildRequest, guest_user_data
from nimbus.compute.ops import networking, volumes
from nimbus.compute.ops.networking import NetworkInfo
from nimbus.compute.states import TaskState, VmState
from nimbus.compute.virt.driver import GuestSpec, VolumeConnection
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)

EVENT = "compute__do_build_and_run_instance"


class InstanceGone(Exception):
    """The instance left the expected state (deleted, usually) while we worked on it."""


async def _advance(agent: ComputeAgent, ctx: RequestContext, uuid: str, task: TaskState,
                   expected: TaskState, *, start_event: str | None = None,
                   network_info: NetworkInfo | None = None) -> None:
    updates: dict[str, Any] = {"task_state": task}
    if network_info is not None:
        updates["network_info"] = network_info
    if not await agent.conductor.instance_update(ctx, uuid, updates,
                                                 expected_task_state=[expected],
                                                 start_event=start_event, host=agent.host,
                                                 expected_host=agent.host):
        raise InstanceGone(uuid)


async def build_and_run(agent: ComputeAgent, ctx: RequestContext, req: BuildRequest) -> None:
    uuid = req.instance_uuid
    spawned = False
    ports: NetworkInfo = []
    try:
        agent.tracker.claim(uuid, req.flavor)
        await _advance(agent, ctx, uuid, TaskState.NETWORKING, TaskState.SCHEDULING,
                       start_event=EVENT)
        ports = await agent.ports.allocate(uuid, req.project_id, agent.host,
                                          req.availability_zone, req.requested_networks)
        step = TaskState.NETWORKING
        connections: tuple[VolumeConnection, ...] = ()
        if req.block_devices:  # the volumes the API reserved (boot from volume)
            await _advance(agent, ctx, uuid, TaskState.BLOCK_DEVICE_MAPPING, step,
                           network_info=ports)
            step = TaskState.BLOCK_DEVICE_MAPPING
            connections = await volumes.connect_all(agent, ctx, uuid, req.block_devices)
        await _advance(agent, ctx, uuid, TaskState.SPAWNING, step, network_info=ports)
        boot = await agent.images.boot_files(req.image_id)
        info = await agent.driver.spawn(boot.apply(GuestSpec(
            uuid=uuid, name=req.hostname, vcpus=req.flavor.vcpus, memory_mb=req.flavor.memory_mb,
            root_gb=req.flavor.root_gb,
            user_data=guest_user_data(req.user_data),
            metadata=tuple(sorted(req.metadata.items())),
            vifs=await networking.plug_vifs(agent, networking.vifs(ports)), volumes=connections)))
        spawned = True
        done = await agent.conductor.instance_update(ctx, uuid, {
            "vm_state": VmState.ACTIVE, "task_state": None, "power_state": info.power_state,
            "launched_at": "now", "progress": 100}, expected_task_state=[TaskState.SPAWNING],
            finish_event=EVENT, host=agent.host, expected_host=agent.host)
        if not done:
            raise InstanceGone(uuid)
    except InstanceGone:
        LOG.info("instance %s changed during its build; stopping", uuid)
        if spawned:
            await agent.driver.destroy(uuid)
        await networking.unplug_vifs(agent, ports)
        await agent.ports.release(ports)
        agent.tracker.release(uuid)
        await agent.conductor.event_finish(
            ctx, uuid, EVENT, agent.host,
            error="The build stopped: the instance was deleted, or given up on, meanwhile.")
        return
    except Exception as exc:  # any failure of a step: give the build back to the conductor
        LOG.warning("build of %s failed on %s: %s", uuid, agent.host, exc)
        if spawned:
            await agent.driver.destroy(uuid)
        # The ports go before the reschedule, so the next host starts from the request alone.
        await networking.unplug_vifs(agent, ports)
        await agent.ports.release(ports)
        if ports:
            await agent.conductor.instance_update(ctx, uuid, {"network_info": None},
                                                  expected_host=agent.host)
        agent.tracker.release(uuid)
        details = "".join(traceback.format_exception(exc))[-4000:]
        await agent.conductor.event_finish(ctx, uuid, EVENT, agent.host, error=details)
        reason = f"Build of instance {uuid} on {agent.host} failed: {exc}"
        # Every build failure is worth another host: a full host (ClaimRejected), a broken
        # hypervisor, an image download cut short.
        await agent.conductor.build_failed(ctx, uuid, agent.host, reason=reason, retryable=True)
        return
    LOG.info("instance %s is active on %s", uuid, agent.host)
    agent.schedule_tracker_update(ctx)


async def terminate(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    """Destroy the guest (if any) and tell the conductor; idempotent."""
    await agent.conductor.event_start(ctx, uuid, "compute_terminate_instance", agent.host)
    await agent.driver.destroy(uuid)
    info = await agent.conductor.network_info(ctx, uuid)
    await networking.unplug_vifs(agent, info)
    await agent.ports.release(info)
    await agent.volumes.release(await agent.conductor.block_devices(ctx, uuid), deleting=True)
    agent.tracker.release(uuid)
    await agent.conductor.event_finish(ctx, uuid, "compute_terminate_instance", agent.host)
    await agent.conductor.instance_destroyed(ctx, uuid, agent.host)
    agent.schedule_tracker_update(ctx)

