"""Shelve, offload and unshelve on the host (see service/shelve.py for the whole story)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nimbus.compute.objects import BuildRequest
from nimbus.compute.ops import networking, rebuild, snapshot, steps, volumes
from nimbus.compute.ops.networking import NetworkInfo
from nimbus.compute.states import PowerState, TaskState, VmState
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)

SHELVE_EVENT = "compute_shelve_instance"
OFFLOAD_EVENT = "compute_shelve_offload_instance"
UNSHELVE_EVENT = "compute_unshelve_instance"


async def _bind_ports(agent: ComputeAgent, ports: NetworkInfo, host: str) -> None:
    """Move the server's ports' binding to `host` ("" while offloaded); they stay its own."""
    token = await agent.ports.token()
    for entry in ports:
        await agent.ports.network.update_port(token, entry["port_id"], {"binding:host_id": host})


async def _forget_image(agent: ComputeAgent, image_id: str | None) -> None:
    """The shelved image is no longer needed once the server runs again; best effort."""
    if image_id is None:
        return
    try:
        await snapshot.delete_image(agent, image_id)
    except Exception as exc:  # a left-over image is the owner's to delete, not a failed unshelve
        LOG.warning("could not delete shelved image %s: %s", image_id, exc)


async def shelve(agent: ComputeAgent, ctx: RequestContext, uuid: str, image_id: str,
                 offload: bool) -> None:
    await agent.conductor.event_start(ctx, uuid, SHELVE_EVENT, agent.host)
    try:
        info = await agent.driver.power_off(uuid)
        await steps.advance(agent, ctx, uuid, {
            "task_state": TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
            "power_state": info.power_state}, TaskState.SHELVING)
        await snapshot.snapshot_into(agent, ctx, uuid, image_id,
                                     taken=TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
                                     uploading=TaskState.SHELVING_IMAGE_UPLOADING)
        await steps.advance(agent, ctx, uuid, {
            "vm_state": VmState.SHELVED,
            "task_state": TaskState.SHELVING_OFFLOADING if offload else None},
            TaskState.SHELVING_IMAGE_UPLOADING, finish_event=SHELVE_EVENT)
    except Exception as exc:  # the server stays where it was, stopped
        await _forget_image(agent, image_id)
        await steps.failed(agent, ctx, uuid, SHELVE_EVENT, exc, {"task_state": None},
                           [TaskState.SHELVING, TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
                            TaskState.SHELVING_IMAGE_UPLOADING])
        return
    if offload:
        await shelve_offload(agent, ctx, uuid)


async def shelve_offload(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    """Destroy the guest and give its resources back: the host's claim, placement's
    allocation, the ports' binding, the volumes' connections. The server keeps its ports, its
    image and its volumes (reserved for it)."""
    await agent.conductor.event_start(ctx, uuid, OFFLOAD_EVENT, agent.host)
    try:
        await agent.driver.destroy(uuid)
        await volumes.disconnect_all(agent, ctx, uuid)
        ports = await agent.conductor.network_info(ctx, uuid)
        await networking.unplug_vifs(agent, ports)
        await _bind_ports(agent, ports, "")
        agent.tracker.release(uuid)
        await agent.tracker.placement.delete_allocations(uuid)
        await steps.advance(agent, ctx, uuid, {
            "vm_state": VmState.SHELVED_OFFLOADED, "task_state": None, "host": None,
            "node": None, "power_state": PowerState.NOSTATE},
            TaskState.SHELVING_OFFLOADING, finish_event=OFFLOAD_EVENT)
    except Exception as exc:
        await steps.failed(agent, ctx, uuid, OFFLOAD_EVENT, exc, {"task_state": None},
                           [TaskState.SHELVING_OFFLOADING])
    agent.schedule_tracker_update(ctx)


async def unshelve_on_host(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                           image_id: str | None, system_metadata: dict[str, Any]) -> None:
    """A shelved server still on this host: start it again."""
    await agent.conductor.event_start(ctx, uuid, UNSHELVE_EVENT, agent.host)
    try:
        info = await agent.driver.power_on(uuid)
        await _forget_image(agent, image_id)
        await steps.advance(agent, ctx, uuid, {
            "vm_state": VmState.ACTIVE, "task_state": None, "power_state": info.power_state,
            "system_metadata": system_metadata}, TaskState.UNSHELVING,
            finish_event=UNSHELVE_EVENT)
    except Exception as exc:
        await steps.failed(agent, ctx, uuid, UNSHELVE_EVENT, exc, {"task_state": None},
                           [TaskState.UNSHELVING])


async def unshelve(agent: ComputeAgent, ctx: RequestContext, req: BuildRequest,
                   system_metadata: dict[str, Any]) -> None:
    """An offloaded server the conductor scheduled here (placement claimed): build it from its
    shelved image with its own ports. On failure it is offloaded again, with nothing held."""
    uuid = req.instance_uuid
    spawned = False
    ports: NetworkInfo = []
    await agent.conductor.event_start(ctx, uuid, UNSHELVE_EVENT, agent.host)
    try:
        agent.tracker.claim(uuid, req.flavor)
        # The task stays `unshelving` throughout: `spawning` would look like a build to the
        # agent's restart reconciliation, which reschedules builds.
        ports = await agent.conductor.network_info(ctx, uuid)
        await _bind_ports(agent, ports, agent.host)
        info = await rebuild.spawn_from(agent, req, ports,
                                        volumes=await volumes.reconnect_all(agent, ctx, uuid))
        spawned = True
        # As Nova: the image goes once the guest runs, before the server shows ACTIVE.
        await _forget_image(agent, req.image_id)
        await steps.advance(agent, ctx, uuid, {
            "vm_state": VmState.ACTIVE, "task_state": None, "power_state": info.power_state,
            "system_metadata": system_metadata}, TaskState.UNSHELVING, finish_event=UNSHELVE_EVENT)
    except Exception as exc:
        if spawned:
            await agent.driver.destroy(uuid)
        await networking.unplug_vifs(agent, ports)
        try:
            await volumes.disconnect_all(agent, ctx, uuid)
        except Exception as gone:  # the next unshelve connects them wherever they are
            LOG.warning("could not disconnect the volumes of %s: %s", uuid, gone)
        agent.tracker.release(uuid)
        await agent.tracker.placement.delete_allocations(uuid)
        await steps.failed(agent, ctx, uuid, UNSHELVE_EVENT, exc,
                           {"task_state": None, "host": None, "node": None},
                           [TaskState.UNSHELVING])
    finally:
        agent.schedule_tracker_update(ctx)
