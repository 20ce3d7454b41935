"""Rebuild on the host: the guest is destroyed and spawned again from the new image, with the
ports and volumes it had. A failure leaves the server in ERROR, as in Nova (its old disk is gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nimbus.compute.objects import BuildRequest, guest_user_data
from nimbus.compute.ops import networking, steps, volumes
from nimbus.compute.ops.networking import NetworkInfo
from nimbus.compute.states import TaskState, VmState
from nimbus.compute.virt.driver import GuestInfo, GuestSpec, VolumeConnection
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

EVENT = "compute_rebuild_instance"


async def spawn_from(agent: ComputeAgent, req: BuildRequest, ports: NetworkInfo, *,
                     power_on: bool = True,
                     volumes: tuple[VolumeConnection, ...] = ()) -> GuestInfo:
    """Spawn the guest `req` describes from its image (through this host's image cache), its
    ports plugged into the dataplane first when the driver needs that (plugging is idempotent,
    so a rebuild plugs the taps it kept again)."""
    boot = await agent.images.boot_files(req.image_id)
    return await agent.driver.spawn(boot.apply(GuestSpec(
        uuid=req.instance_uuid, name=req.hostname, vcpus=req.flavor.vcpus,
        memory_mb=req.flavor.memory_mb, root_gb=req.flavor.root_gb,
        user_data=guest_user_data(req.user_data),
        metadata=tuple(sorted(req.metadata.items())),
        vifs=await networking.plug_vifs(agent, networking.vifs(ports)), power_on=power_on,
        volumes=volumes)))


async def rebuild(agent: ComputeAgent, ctx: RequestContext, req: BuildRequest,
                  stop_after: bool) -> None:
    uuid = req.instance_uuid
    await agent.conductor.event_start(ctx, uuid, EVENT, agent.host)
    try:
        await agent.driver.destroy(uuid)
        await steps.advance(agent, ctx, uuid, {"task_state": TaskState.REBUILD_BLOCK_DEVICE_MAPPING},
                            TaskState.REBUILDING)
        connections = await volumes.reconnect_all(agent, ctx, uuid)
        await steps.advance(agent, ctx, uuid, {"task_state": TaskState.REBUILD_SPAWNING},
                            TaskState.REBUILD_BLOCK_DEVICE_MAPPING)
        info = await spawn_from(agent, req, await agent.conductor.network_info(ctx, uuid),
                                power_on=not stop_after, volumes=tuple(connections))
        await steps.advance(agent, ctx, uuid, {
            "vm_state": VmState.STOPPED if stop_after else VmState.ACTIVE, "task_state": None,
            "power_state": info.power_state, "launched_at": "now", "progress": 100},
            TaskState.REBUILD_SPAWNING, finish_event=EVENT)
    except Exception as exc:
        await steps.failed(agent, ctx, uuid, EVENT, exc,
                           {"vm_state": VmState.ERROR, "task_state": None},
                           [TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING,
                            TaskState.REBUILD_SPAWNING])
    agent.schedule_tracker_update(ctx)
