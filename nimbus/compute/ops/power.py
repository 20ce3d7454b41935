"""Power actions on one guest: stop, start, reboot, pause, suspend and their inverses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nimbus.compute.states import TaskState, VmState
from nimbus.compute.virt.driver import GuestInfo, SupportsPause, SupportsSuspend
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)

# action: (the task state the API set, the vm_state when done)
ACTIONS: dict[str, tuple[TaskState, VmState]] = {
    "stop": (TaskState.POWERING_OFF, VmState.STOPPED),
    "start": (TaskState.POWERING_ON, VmState.ACTIVE),
    "reboot_soft": (TaskState.REBOOTING, VmState.ACTIVE),
    "reboot_hard": (TaskState.REBOOTING_HARD, VmState.ACTIVE),
    "pause": (TaskState.PAUSING, VmState.PAUSED),
    "unpause": (TaskState.UNPAUSING, VmState.ACTIVE),
    "suspend": (TaskState.SUSPENDING, VmState.SUSPENDED),
    "resume": (TaskState.RESUMING, VmState.ACTIVE),
}


async def _drive(agent: ComputeAgent, uuid: str, action: str) -> GuestInfo:
    driver = agent.driver
    if action == "stop":
        return await driver.power_off(uuid)
    if action == "start":
        return await driver.power_on(uuid)
    if action in ("reboot_soft", "reboot_hard"):
        return await driver.reboot(uuid, hard=action == "reboot_hard")
    if action in ("pause", "unpause") and isinstance(driver, SupportsPause):
        return await (driver.pause(uuid) if action == "pause" else driver.unpause(uuid))
    if action in ("suspend", "resume") and isinstance(driver, SupportsSuspend):
        return await (driver.suspend(uuid) if action == "suspend" else driver.resume(uuid))
    raise NotImplementedError(f"the {type(driver).__name__} driver cannot {action}")


async def power_action(agent: ComputeAgent, ctx: RequestContext, uuid: str, action: str) -> None:
    task, done_state = ACTIONS[action]
    event = f"compute_{action}_instance"
    await agent.conductor.event_start(ctx, uuid, event, agent.host)
    try:
        info = await _drive(agent, uuid, action)
    except Exception as exc:  # the guest stays as it was; the API shows the action failed
        LOG.warning("%s of %s failed: %s", action, uuid, exc)
        await agent.conductor.instance_update(ctx, uuid, {"task_state": None},
                                              expected_task_state=[task])
        await agent.conductor.event_finish(ctx, uuid, event, agent.host, error=str(exc))
        return
    await agent.conductor.instance_update(ctx, uuid, {
        "vm_state": done_state, "task_state": None, "power_state": info.power_state},
        expected_task_state=[task])
    await agent.conductor.event_finish(ctx, uuid, event, agent.host)
