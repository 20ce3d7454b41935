"""Life-cycle actions that start like every other server action: find the server, check policy,
the lock and the states it may start from, then move task_state with a compare-and-swap from
rest (409 when another action won) and open the instance action. Rescue, unrescue and
trigger_crash_dump live here; snapshots, rebuild and shelve have their own modules."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.service import instances
from nimbus.compute.service.servers import visible_row
from nimbus.compute.states import PowerState, TaskState, VmState
from nimbus.core import errors as core_errors
from nimbus.core.clients.image import ImageNotFound
from nimbus.core.context import RequestContext


def invalid_state(row: InstanceRow, action: str) -> errors.InstanceInvalidState:
    if row.task_state is not None:
        return errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="task_state",
                                           state=row.task_state)
    return errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                       state=row.vm_state)


async def checked_row(session: AsyncSession, deps: ComputeDeps, ctx: RequestContext,
                      server_id: str, *, action: str, rule: str,
                      allowed: Collection[VmState], needs_host: bool = True) -> InstanceRow:
    """The server if the caller may act on it now: 404 for another project's, 403 by policy,
    409 when locked (admins excepted), in another vm_state, or busy with a task."""
    row = await visible_row(session, ctx, server_id)
    deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
    if row.locked and not ctx.is_admin:
        raise errors.InstanceLocked(server_id=server_id)
    if row.vm_state not in allowed or row.task_state is not None or (
            needs_host and row.host is None):
        raise invalid_state(row, action)
    return row


async def begin(session: AsyncSession, ctx: RequestContext, row: InstanceRow, *, action: str,
                task: TaskState, updates: dict[str, Any] | None = None) -> None:
    """Set `task` (and `updates`) if the server still rests, and open its instance action."""
    if not await instances.compare_and_swap(session, row.uuid, {"task_state": task,
                                                                **(updates or {})},
                                            expected_task_state=[None]):
        raise invalid_state(row, action)
    await instances.start_action(session, ctx, row.uuid, action)


async def image_exists(deps: ComputeDeps, ctx: RequestContext, image_ref: str) -> str:
    """The id of an image the caller can see, else 400 (Nova's rescue and rebuild answer)."""
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        image = await deps.images.get_image(ctx.auth_token or "", image_id)
    except ImageNotFound:
        raise core_errors.BadRequest(f"Image {image_id} could not be found.") from None
    if image.status != "active":
        raise core_errors.BadRequest(f"Image {image_id} is not active.")
    return image.id


async def rescue(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                 password: str | None, rescue_image_ref: str | None) -> str | None:
    """Boot the server from a rescue image (its own image unless one is named); the admin
    password set, or None when the cloud does not disclose passwords."""
    async with deps.read() as session:
        row = await checked_row(session, deps, ctx, server_id, action="rescue",
                                rule="os_compute_api:os-rescue",
                                allowed=(VmState.ACTIVE, VmState.STOPPED, VmState.ERROR))
        image_ref = rescue_image_ref or row.image_ref
    image_id = await image_exists(deps, ctx, image_ref) if image_ref else None
    password = password or secrets.token_urlsafe(9)
    async with deps.write() as session:
        row = await checked_row(session, deps, ctx, server_id, action="rescue",
                                rule="os_compute_api:os-rescue",
                                allowed=(VmState.ACTIVE, VmState.STOPPED, VmState.ERROR))
        await begin(session, ctx, row, action="rescue", task=TaskState.RESCUING)
        host = row.host
    assert host is not None
    await deps.agents.rescue_instance(ctx, host, server_id, image_id, password)
    return password if deps.settings.compute.enable_instance_password else None


async def unrescue(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.write() as session:
        row = await checked_row(session, deps, ctx, server_id, action="unrescue",
                                rule="os_compute_api:os-unrescue", allowed=(VmState.RESCUED,))
        await begin(session, ctx, row, action="unrescue", task=TaskState.UNRESCUING)
        host = row.host
    assert host is not None
    await deps.agents.unrescue_instance(ctx, host, server_id)


async def trigger_crash_dump(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    """An NMI to a running guest; it takes no task_state, as in Nova, and waits for the host's
    answer so that a driver without the feature is a 400 and a guest not running a 409."""
    async with deps.write() as session:
        row = await checked_row(session, deps, ctx, server_id, action="trigger_crash_dump",
                                rule="os_compute_api:servers:trigger_crash_dump",
                                allowed=(VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED,
                                         VmState.RESIZED, VmState.ERROR))
        if row.power_state != PowerState.RUNNING:
            raise errors.InstanceNotReady(server_id=server_id)
        await instances.start_action(session, ctx, row.uuid, "trigger_crash_dump")
        host = row.host
    assert host is not None
    await deps.agents.trigger_crash_dump(ctx, host, server_id)
