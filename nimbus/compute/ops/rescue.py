"""Rescue, unrescue and the crash dump NMI on the host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nimbus.compute import errors
from nimbus.compute.ops import steps
from nimbus.compute.states import TaskState, VmState
from nimbus.compute.virt.driver import GuestNotRunning, SupportsCrashDump, SupportsRescue
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent


def _rescuer(agent: ComputeAgent, uuid: str) -> SupportsRescue:
    if not isinstance(agent.driver, SupportsRescue):
        raise errors.ActionNotSupported(server_id=uuid, action="rescue")
    return agent.driver


async def rescue(agent: ComputeAgent, ctx: RequestContext, uuid: str, image_id: str | None,
                 admin_password: str) -> None:
    event = "compute_rescue_instance"
    await agent.conductor.event_start(ctx, uuid, event, agent.host)
    try:
        driver = _rescuer(agent, uuid)
        path, image = (await agent.images.fetch(image_id)) if image_id else (None, None)
        info = await driver.rescue(uuid, path, (image.disk_format or "raw") if image else "raw",
                                   admin_password)
        await steps.advance(agent, ctx, uuid, {"vm_state": VmState.RESCUED, "task_state": None,
                                               "power_state": info.power_state},
                            TaskState.RESCUING, finish_event=event)
    except Exception as exc:  # the server stays as it was
        await steps.failed(agent, ctx, uuid, event, exc, {"task_state": None},
                           [TaskState.RESCUING])


async def unrescue(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    event = "compute_unrescue_instance"
    await agent.conductor.event_start(ctx, uuid, event, agent.host)
    try:
        info = await _rescuer(agent, uuid).unrescue(uuid)
        await steps.advance(agent, ctx, uuid, {"vm_state": VmState.ACTIVE, "task_state": None,
                                               "power_state": info.power_state},
                            TaskState.UNRESCUING, finish_event=event)
    except Exception as exc:
        await steps.failed(agent, ctx, uuid, event, exc, {"task_state": None},
                           [TaskState.UNRESCUING])


async def trigger_crash_dump(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    """Raises ActionNotSupported (400) or InstanceNotReady (409) to the API that waits."""
    event = "compute_trigger_crash_dump"
    driver = agent.driver
    await agent.conductor.event_start(ctx, uuid, event, agent.host)
    try:
        if not isinstance(driver, SupportsCrashDump):
            raise errors.ActionNotSupported(server_id=uuid, action="trigger a crash dump")
        try:
            await driver.trigger_crash_dump(uuid)
        except GuestNotRunning:
            raise errors.InstanceNotReady(server_id=uuid) from None
    except Exception as exc:
        await agent.conductor.event_finish(ctx, uuid, event, agent.host, error=str(exc))
        raise
    await agent.conductor.event_finish(ctx, uuid, event, agent.host)
