"""Instance rows as both the API and the conductor change them: compare-and-swap state
changes, instance actions with their events, and faults. Callers bring the session."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Update,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
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
    tasks = None
    params: dict[str, Any] = {f"new_{column}": value for column, value in updates.items()}
    params.update(of_instance=instance_uuid, now=db.utcnow())
    if expected_host is not None:
        params["on_host"] = expected_host
    if expected_vm_state is not None:
        params["in_vm_state"] = expected_vm_state
    if expected_task_state is not None:
        params["tasks"] = [s for s in expected_task_state if s is not None]
        tasks = (bool(params["tasks"]), None in expected_task_state)
    statement = _swap(tuple(sorted(updates)), tasks, expected_host is not None,
                      expected_vm_state is not None)
    result = await session.execute(statement, params)
    return bool(getattr(result, "rowcount", 0))


_INSTANCES = cast(Table, InstanceRow.__table__)


@functools.cache
def _swap(columns: tuple[str, ...], tasks: tuple[bool, bool] | None, on_host: bool,
          in_vm_state: bool) -> Update:
    """compare_and_swap's statement for one shape of call, built once (as the action-event
    statements below, for the same reason): the columns it sets, whether it expects some
    task states (`tasks`: any of a list, and/or none), a host, a vm_state."""
    table = _INSTANCES
    where: list[ColumnElement[bool]] = [table.c.uuid == bindparam("of_instance"),
                                        table.c.deleted_at.is_(None)]
    if tasks is not None:
        some, or_none = tasks
        allowed: list[ColumnElement[bool]] = []
        if some:
            allowed.append(table.c.task_state.in_(bindparam("tasks", expanding=True)))
        if or_none:
            allowed.append(table.c.task_state.is_(None))
        where.append(or_(*allowed) if allowed else false())
    if on_host:
        where.append(table.c.host == bindparam("on_host"))
    if in_vm_state:
        where.append(table.c.vm_state == bindparam("in_vm_state"))
    values: dict[str, Any] = {column: bindparam(f"new_{column}", type_=table.c[column].type)
                              for column in columns}
    values["updated_at"] = bindparam("now", type_=table.c.updated_at.type)
    return update(table).where(*where).values(values)


async def start_action(session: AsyncSession, ctx: RequestContext, instance_uuid: str,
                       action: str) -> InstanceActionRow:
    row = InstanceActionRow(instance_uuid=instance_uuid, action=action,
                            request_id=ctx.request_id, user_id=ctx.user_id,
                            project_id=ctx.project_id)
    session.add(row)
    await session.flush()
    return row


# The action-event statements are built once, with bound parameters, as Core statements on
# the tables: each runs several times per build, and rebuilding ORM statements (cache key,
# ORM compile state) cost more than the database work they do.
_ACTIONS = cast(Table, InstanceActionRow.__table__)
_EVENTS = cast(Table, InstanceActionEventRow.__table__)

# The action an event belongs to: the request's, else the instance's latest. A subquery of
# the statement that writes the event, so that finding it costs no trip of its own.
_ACTION_ID = select(_ACTIONS.c.id).where(
    _ACTIONS.c.instance_uuid == bindparam("of_instance")).order_by(
    case((_ACTIONS.c.request_id == bindparam("of_request"), 1), else_=0).desc(),
    _ACTIONS.c.id.desc()).limit(1).scalar_subquery()

_ADD_EVENT = insert(_EVENTS).from_select(
    ["action_id", "event", "host", "start_time", "finish_time", "result", "traceback"],
    select(_ACTIONS.c.id,
           bindparam("event_name", type_=_EVENTS.c.event.type),
           bindparam("event_host", type_=_EVENTS.c.host.type),
           bindparam("started", type_=_EVENTS.c.start_time.type),
           bindparam("finished", type_=_EVENTS.c.finish_time.type),
           bindparam("outcome", type_=_EVENTS.c.result.type),
           bindparam("error", type_=_EVENTS.c.traceback.type)).where(
        _ACTIONS.c.id == _ACTION_ID))

# Closes the latest open event of that name in the action.
_CLOSE_EVENT = update(_EVENTS).where(_EVENTS.c.id == select(func.max(_EVENTS.c.id)).where(
    _EVENTS.c.action_id == _ACTION_ID, _EVENTS.c.event == bindparam("event_name"),
    _EVENTS.c.finish_time.is_(None)).scalar_subquery()).values(
    finish_time=bindparam("now"), result=bindparam("outcome"), traceback=bindparam("error"))

_FINISH_ACTION = update(_ACTIONS).where(
    _ACTIONS.c.id == _ACTION_ID, _ACTIONS.c.finish_time.is_(None)).values(
    finish_time=bindparam("now"))


@functools.cache
def _touch_action(failed: bool, finished: bool) -> Update:
    """The action was worked on: its updated_at, and the error mark or its end if so."""
    values: dict[str, Any] = {"updated_at": bindparam("now")}
    if failed:
        values["message"] = "Error"
    if finished:
        values["finish_time"] = func.coalesce(_ACTIONS.c.finish_time, bindparam("now"))
    return update(_ACTIONS).where(_ACTIONS.c.id == _ACTION_ID).values(values)


async def event_start(session: AsyncSession, instance_uuid: str, request_id: str, event: str,
                      host: str | None) -> None:
    now = db.utcnow()
    action = {"of_instance": instance_uuid, "of_request": request_id}
    await session.execute(_ADD_EVENT, {**action, "event_name": event, "event_host": host,
                                       "started": now, "finished": None, "outcome": None,
                                       "error": None})
    await session.execute(_touch_action(False, False), {**action, "now": now})


def _finished(instance_uuid: str, request_id: str, event: str,
              error: str | None) -> dict[str, Any]:
    return {"of_instance": instance_uuid, "of_request": request_id, "event_name": event,
            "now": db.utcnow(), "outcome": "Error" if error else "Success", "error": error}


async def event_finish(session: AsyncSession, instance_uuid: str, request_id: str, event: str,
                       host: str | None, error: str | None = None,
                       started: dt.datetime | None = None, *,
                       finish_action: bool = False) -> None:
    """Close the event, opening it first (at `started`, else now) if it was never opened;
    an error marks the action failed. `finish_action` also ends the action (as
    finish_action does), in the statement that touches it anyway."""
    params = _finished(instance_uuid, request_id, event, error)
    closed = await session.execute(_CLOSE_EVENT, params)
    if not getattr(closed, "rowcount", 0):
        await session.execute(_ADD_EVENT, {**params, "event_host": host,
                                           "started": started or params["now"],
                                           "finished": params["now"]})
    await session.execute(_touch_action(error is not None, finish_action), params)


async def event_record(session: AsyncSession, instance_uuid: str, request_id: str, event: str,
                       host: str | None, *, started: dt.datetime,
                       error: str | None = None) -> None:
    """An event that began at `started` and ends now, written whole: for the conductor's own
    steps, which it records once decided and never opens, so there is none to close."""
    params = _finished(instance_uuid, request_id, event, error)
    await session.execute(_ADD_EVENT, {**params, "event_host": host, "started": started,
                                       "finished": params["now"]})
    await session.execute(_touch_action(error is not None, False), params)


async def finish_action(session: AsyncSession, instance_uuid: str, request_id: str) -> None:
    await session.execute(_FINISH_ACTION, {"of_instance": instance_uuid,
                                           "of_request": request_id, "now": db.utcnow()})


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
