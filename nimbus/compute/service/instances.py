"""Instance rows as both the API and the conductor change them: compare-and-swap state
changes, instance actions with their events, and faults. Callers bring the session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import (
    InstanceActionEventRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstanceRow,
    ServerGroupMemberRow,
)
from nimbus.compute.service import block_devices
from nimbus.compute.states import PowerState, VmState
from nimbus.core import db
from nimbus.core.context import RequestContext

# Columns an agent or the conductor may change through instance_update.
UPDATABLE = {"vm_state", "task_state", "power_state", "host", "node", "launched_at",
             "terminated_at", "progress", "availability_zone", "deleted_at", "system_metadata",
             "network_info"}


async def compare_and_swap(session: AsyncSession, instance_uuid: str, updates: dict[str, Any],
                           expected_task_state: list[str | None] | None = None, *,
                           expected_host: str | None = None,
                           expected_vm_state: str | None = None) -> bool:
    """Apply `updates` only if the instance exists, is not deleted, its task_state is one of
    `expected_task_state` (any, when None) and, given `expected_host` and
    `expected_vm_state`, it is on that host in that state. Returns whether the row changed.

    This is the only way state changes, so two conflicting actions never both succeed.
    """
    unknown = set(updates) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    query = update(InstanceRow).where(InstanceRow.uuid == instance_uuid,
                                      InstanceRow.deleted_at.is_(None))
    if expected_task_state is not None:
        allowed = [s for s in expected_task_state if s is not None]
        condition: ColumnElement[bool] = InstanceRow.task_state.in_(allowed)
        if None in expected_task_state:
            condition = condition | InstanceRow.task_state.is_(None)
        query = query.where(condition)
    if expected_host is not None:
        query = query.where(InstanceRow.host == expected_host)
    if expected_vm_state is not None:
        query = query.where(InstanceRow.vm_state == expected_vm_state)
    result = await session.execute(
        query.values(**updates, updated_at=db.utcnow()).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def start_action(session: AsyncSession, ctx: RequestContext, instance_uuid: str,
                       action: str) -> InstanceActionRow:
    row = InstanceActionRow(instance_uuid=instance_uuid, action=action,
                            request_id=ctx.request_id, user_id=ctx.user_id,
                            project_id=ctx.project_id)
    session.add(row)
    await session.flush()
    for key in [k for k in session.info
                if isinstance(k, tuple) and k[:2] == ("instance_action", instance_uuid)]:
        del session.info[key]
    session.info[("instance_action", instance_uuid, ctx.request_id)] = row
    return row


async def _action_for(session: AsyncSession, instance_uuid: str,
                      request_id: str) -> InstanceActionRow | None:
    """The action an event belongs to: the request's, else the instance's latest. Looked up
    once per transaction (an agent's last report closes an event and the action together)."""
    key = ("instance_action", instance_uuid, request_id)
    if key in session.info:
        cached: InstanceActionRow | None = session.info[key]
        return cached
    found = (await session.execute(select(InstanceActionRow).where(
        InstanceActionRow.instance_uuid == instance_uuid,
        InstanceActionRow.request_id == request_id))).scalar()
    if found is None:
        found = (await session.execute(select(InstanceActionRow).where(
            InstanceActionRow.instance_uuid == instance_uuid).order_by(
            InstanceActionRow.id.desc()).limit(1))).scalar()
    session.info[key] = found
    return found


async def event_start(session: AsyncSession, instance_uuid: str, request_id: str, event: str,
                      host: str | None) -> None:
    action = await _action_for(session, instance_uuid, request_id)
    if action is None:
        return
    session.add(InstanceActionEventRow(action_id=action.id, event=event, host=host))
    action.updated_at = db.utcnow()


async def event_finish(session: AsyncSession, instance_uuid: str, request_id: str, event: str,
                       host: str | None, error: str | None = None,
                       started: dt.datetime | None = None) -> None:
    """Close the event, opening it first (at `started`, else now) if it was never opened;
    an error marks the action failed."""
    action = await _action_for(session, instance_uuid, request_id)
    if action is None:
        return
    row = (await session.execute(select(InstanceActionEventRow).where(
        InstanceActionEventRow.action_id == action.id, InstanceActionEventRow.event == event,
        InstanceActionEventRow.finish_time.is_(None)).order_by(
        InstanceActionEventRow.id.desc()).limit(1))).scalar()
    if row is None:
        row = InstanceActionEventRow(action_id=action.id, event=event, host=host,
                                     start_time=started or db.utcnow())
        session.add(row)
    now = db.utcnow()
    row.finish_time = now
    row.result = "Error" if error else "Success"
    row.traceback = error
    action.updated_at = now
    if error:
        action.message = "Error"


async def finish_action(session: AsyncSession, instance_uuid: str, request_id: str) -> None:
    action = await _action_for(session, instance_uuid, request_id)
    if action is not None and action.finish_time is None:
        action.finish_time = db.utcnow()


async def mark_deleted(session: AsyncSession, row: InstanceRow) -> None:
    """The instance is gone: soft-deleted (changes-since still shows it) and out of its group."""
    now = db.utcnow()
    row.vm_state, row.task_state, row.power_state = VmState.DELETED, None, PowerState.NOSTATE
    row.deleted_at = row.terminated_at = row.updated_at = now
    await session.execute(delete(ServerGroupMemberRow).where(
        ServerGroupMemberRow.instance_uuid == row.uuid))
    await block_devices.forget(session, row.uuid)


async def add_fault(session: AsyncSession, instance_uuid: str, message: str, *,
                    code: int = 500, details: str | None = None, host: str | None = None) -> None:
    session.add(InstanceFaultRow(instance_uuid=instance_uuid, code=code, message=message[:255],
                                 details=details, host=host))
