"""Steps shared by the agent's life-cycle actions: move the task state on, or give up with
the event marked failed. Every step is a compare-and-swap through the conductor on the task
state the previous step left, on this host: an action that finds the instance changed (deleted,
reset by an admin) stops there."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from nimbus.compute.states import TaskState
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
    if not isinstance(exc, Interrupted):
        await agent.conductor.instance_update(ctx, uuid, updates,
                                              expected_task_state=list(expected),
                                              expected_host=agent.host)
    details = "".join(traceback.format_exception(exc))[-4000:]
    await agent.conductor.event_finish(ctx, uuid, event, agent.host, error=details)
