"""Actions on a server (`POST /servers/{id}/action`): each checks the states it may start from,
moves task_state with a compare-and-swap (409 when another action won) and casts the agent."""

from __future__ import annotations

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service import instances
from nimbus.compute.service.servers import visible_row
from nimbus.compute.states import TaskState, VmState
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

# API action -> (agent action, instance-action name, allowed vm_states, task_state to set)
POWER_ACTIONS: dict[str, tuple[str, str, tuple[VmState, ...], TaskState]] = {
    "os-stop": ("stop", "stop", (VmState.ACTIVE, VmState.ERROR), TaskState.POWERING_OFF),
    "os-start": ("start", "start", (VmState.STOPPED,), TaskState.POWERING_ON),
    "reboot_soft": ("reboot_soft", "reboot", (VmState.ACTIVE,), TaskState.REBOOTING),
    "reboot_hard": ("reboot_hard", "reboot", (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED,
                                              VmState.SUSPENDED, VmState.ERROR),
                    TaskState.REBOOTING_HARD),
    "pause": ("pause", "pause", (VmState.ACTIVE,), TaskState.PAUSING),
    "unpause": ("unpause", "unpause", (VmState.PAUSED,), TaskState.UNPAUSING),
    "suspend": ("suspend", "suspend", (VmState.ACTIVE,), TaskState.SUSPENDING),
    "resume": ("resume", "resume", (VmState.SUSPENDED,), TaskState.RESUMING),
}

POLICY = {"os-stop": "os_compute_api:servers:stop", "os-start": "os_compute_api:servers:start",
          "reboot_soft": "os_compute_api:servers:reboot",
          "reboot_hard": "os_compute_api:servers:reboot",
          "pause": "os_compute_api:os-pause-server:pause",
          "unpause": "os_compute_api:os-pause-server:unpause",
          "suspend": "os_compute_api:os-suspend-server:suspend",
          "resume": "os_compute_api:os-suspend-server:resume"}


def _invalid(row: InstanceRow, action: str) -> errors.InstanceInvalidState:
    if row.task_state is not None:
        return errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="task_state",
                                           state=row.task_state)
    return errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                       state=row.vm_state)


async def power_action(deps: ComputeDeps, ctx: RequestContext, server_id: str, name: str) -> None:
    agent_action, action_name, allowed, task = POWER_ACTIONS[name]
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize(POLICY[name], ctx, {"project_id": row.project_id})
        if row.locked and not ctx.is_admin:
            raise errors.InstanceLocked(server_id=server_id)
        if row.vm_state not in allowed or row.host is None:
            raise _invalid(row, action_name)
        # Only from a resting state: the swap fails if another action started meanwhile.
        if not await instances.compare_and_swap(session, row.uuid, {"task_state": task},
                                                expected_task_state=[None]):
            raise _invalid(row, action_name)
        await instances.start_action(session, ctx, row.uuid, action_name)
        host = row.host
    await deps.agents.power_action(ctx, host, server_id, agent_action)


async def reset_state(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                      state: VmState) -> None:
    """os-admin-actions' os-resetState: an admin declares the server ACTIVE or ERROR, whatever
    it was doing (Nova's admin_state_reset: no expected task_state)."""
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-admin-actions:reset_state", ctx,
                              {"project_id": row.project_id})
        await instances.start_action(session, ctx, row.uuid, "resetState")
        if not await instances.compare_and_swap(session, row.uuid,
                                                {"vm_state": state, "task_state": None}):
            raise errors.ServerNotFound(server_id=server_id)
        await instances.finish_action(session, row.uuid, ctx.request_id)


async def restore(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    """os-deferred-delete's restore. Nimbus deletes at once (Nova's reclaim_instance_interval
    of 0), so no server is ever SOFT_DELETED and a restore finds none to bring back: 409."""
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-deferred-delete:restore", ctx,
                              {"project_id": row.project_id})
        raise errors.InstanceInvalidState(action="restore", server_id=server_id,
                                          attr="vm_state", state=row.vm_state)


async def console_output(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                         length: int | None) -> str:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-console-output", ctx, {"project_id": row.project_id})
        if row.host is None or row.vm_state in (VmState.BUILDING, VmState.ERROR):
            raise errors.InstanceInvalidState(action="get console output", server_id=server_id,
                                              attr="vm_state", state=row.vm_state)
        host = row.host
    text = await deps.agents.console_output(ctx, host, server_id, None)
    if length is None:
        return text
    # Nova's tail: the last `length` pieces of the log split at newlines, so a log that ends
    # with a newline yields length - 1 lines and the empty piece after the last newline.
    return "\n".join(text.split("\n")[-length:]) if length > 0 else ""


async def set_lock(deps: ComputeDeps, ctx: RequestContext, server_id: str, locked: bool,
                   reason: str | None) -> None:
    rule = "os_compute_api:os-lock-server:lock" if locked else "os_compute_api:os-lock-server:unlock"
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
        if not locked and row.locked_by == "admin" and not ctx.is_admin:
            raise core_errors.Forbidden("The server was locked by an admin.")
        row.locked = locked
        row.locked_by = ("admin" if ctx.is_admin else "owner") if locked else None
        row.locked_reason = reason if locked else None
        await instances.start_action(session, ctx, row.uuid, "lock" if locked else "unlock")
        await instances.finish_action(session, row.uuid, ctx.request_id)
