"""Steps shared by the agent's life-cycle actions: move the task state on, or give up with
the event marked failed. Every step is a compare-and-swap through the conductor on the task
state the previous step left, on this host: an action that finds the instance changed (deleted,
reset by an admin) stops there."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from nimbus.compute.objects import InstanceOnHost
from nimbus.compute.states import TaskState, VmState
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)


class Interrupted(Exception):
    """The instance left the task state this action expected."""


async def advance(agent: ComputeAgent, ctx: RequestContext, uuid: str, updates: dict[str, Any],
                  expected: TaskState, *, finish_event: str | None = None) -> None:
    if not await agent.conductor.instance_update(ctx, uuid, updates, expected_task_state=[expected],
                                                 finish_event=finish_event, host=agent.host,
                                                 expected_host=agent.host):
        raise Interrupted(uuid)


async def failed(agent: ComputeAgent, ctx: RequestContext, uuid: str, event: str,
                 exc: BaseException, updates: dict[str, Any], expected: list[TaskState]) -> None:
    """Record the failure on the event and put the instance where `updates` say (its task
    state cleared, usually), unless it moved on meanwhile."""
    LOG.warning("%s of %s on %s failed: %s", event, uuid, agent.host, exc)
    # The event's error first: once the task state clears, a client sees the action over and
    # reads its events, which must then tell the failure.
    details = "".join(traceback.format_exception(exc))[-4000:]
    await agent.conductor.event_finish(ctx, uuid, event, agent.host, error=details)
    if not isinstance(exc, Interrupted):
        await agent.conductor.instance_update(ctx, uuid, updates,
                                              expected_task_state=list(expected),
                                              expected_host=agent.host)


# What an action interrupted by an agent restart leaves (Nova's _init_instance): the task is
# dropped, except that a half-done rebuild has lost its old disk and is in ERROR.
_RECOVERED: dict[TaskState, dict[str, Any]] = {
    **{task: {"task_state": None} for task in (
        TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_BACKUP, TaskState.IMAGE_PENDING_UPLOAD,
        TaskState.IMAGE_UPLOADING,
        TaskState.SHELVING, TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
        TaskState.SHELVING_IMAGE_UPLOADING, TaskState.SHELVING_OFFLOADING,
        TaskState.RESCUING, TaskState.UNRESCUING, TaskState.UNSHELVING)},
    **{task: {"vm_state": VmState.ERROR, "task_state": None} for task in (
        TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING,
        TaskState.REBUILD_SPAWNING)},
}
INTERRUPTED = frozenset(_RECOVERED)


async def recover(agent: ComputeAgent, ctx: RequestContext, instance: InstanceOnHost) -> None:
    """Put an instance whose action died with the agent at rest again; an offloaded server
    that was being unshelved here gives its new host back."""
    assert instance.task_state is not None
    updates = dict(_RECOVERED[TaskState(instance.task_state)])
    offloaded = instance.vm_state == VmState.SHELVED_OFFLOADED
    if offloaded:
        updates.update(host=None, node=None)
    LOG.warning("%s of %s stopped when the agent on %s restarted", instance.task_state,
                instance.uuid, agent.host)
    if await agent.conductor.instance_update(ctx, instance.uuid, updates,
                                             expected_task_state=[instance.task_state],
                                             expected_host=agent.host) and offloaded:
        await agent.driver.destroy(instance.uuid)
        agent.tracker.release(instance.uuid)
        await agent.tracker.placement.delete_allocations(instance.uuid)
