"""Builds that stopped making progress, found and finished by the conductor's periodic task.

    await stalled_builds.reconcile(manager, ctx, timeout=600.0, service_down_time=60.0)

A lost RPC message must not leave an instance in BUILD forever. An instance still `building`
whose row has not changed for `timeout` seconds is one of:

- waiting for a host (`scheduling`, no host): the cast to the conductor was lost, or the
  conductor died while scheduling. It is scheduled again once, from the request spec the API
  stored; a second stall puts it in ERROR.
- on a host that never acknowledged the build (still `scheduling`) or whose agent is down: the
  build is handed back as a failed one, so it is rescheduled while attempts remain, else ERROR.
- on a live host that took the build but never finished it: ERROR, as Nova's build timeout.

Every act starts with a compare-and-swap on the state and `updated_at` this conductor read, so
of several conductors one acts and the rest skip; an instance that moved meanwhile is left
alone. Each act records the event `conductor_reconcile_stalled_build` on the instance's latest
action, and an instance that ends in ERROR gives back its placement allocations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import InstanceRow
from nimbus.compute.objects import RequestSpec
from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.compute.service import instances
from nimbus.compute.service.compute_services import is_up
from nimbus.compute.states import TaskState, VmState
from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow

if TYPE_CHECKING:
    from nimbus.compute.conductor.manager import ConductorManager

LOG = logging.getLogger(__name__)

EVENT = "conductor_reconcile_stalled_build"
# At most this many stalled builds are handled per run; the next run takes the rest.
BATCH = 100
_BUILDING = [TaskState.SCHEDULING, TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING,
             TaskState.SPAWNING]


@dataclasses.dataclass(frozen=True)
class Stalled:
    """An instance as this conductor saw it: acting on it requires that nothing changed."""

    uuid: str
    task_state: str | None
    host: str | None
    updated_at: dt.datetime
    request_spec: dict[str, Any]


async def find(manager: ConductorManager, timeout: float) -> list[Stalled]:
    cutoff = db.utcnow() - dt.timedelta(seconds=timeout)
    async with manager.factory() as session:
        rows = await session.execute(select(
            InstanceRow.uuid, InstanceRow.task_state, InstanceRow.host, InstanceRow.updated_at,
            InstanceRow.request_spec).where(
            InstanceRow.vm_state == VmState.BUILDING, InstanceRow.deleted_at.is_(None),
            InstanceRow.task_state.in_([str(s) for s in _BUILDING]),
            InstanceRow.updated_at < cutoff).order_by(InstanceRow.updated_at).limit(BATCH))
        return [Stalled(u, t, h, at, dict(spec or {})) for u, t, h, at, spec in rows.all()]


async def _take(session: AsyncSession, stalled: Stalled, values: dict[str, Any]) -> bool:
    """Apply `values` only if the instance is exactly as `stalled` saw it: the lock that keeps
    two conductors from acting on one build."""
    same_host = (InstanceRow.host.is_(None) if stalled.host is None
                 else InstanceRow.host == stalled.host)
    result = await session.execute(update(InstanceRow).where(
        InstanceRow.uuid == stalled.uuid, InstanceRow.deleted_at.is_(None),
        InstanceRow.vm_state == VmState.BUILDING, InstanceRow.task_state == stalled.task_state,
        InstanceRow.updated_at == stalled.updated_at, same_host,
    ).values(**values, updated_at=db.utcnow()).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def _hosts_up(manager: ConductorManager, hosts: set[str],
                    service_down_time: float) -> set[str]:
    if not hosts:
        return set()
    async with manager.factory() as session:
        rows = (await session.execute(select(ServiceRow).where(
            ServiceRow.binary == COMPUTE_BINARY, ServiceRow.host.in_(hosts)))).scalars()
        now = db.utcnow()
        return {r.host for r in rows if is_up(r, now, service_down_time)}


async def reconcile(manager: ConductorManager, ctx: RequestContext, *, timeout: float,
                    service_down_time: float) -> int:
    """Act once on every build stalled for `timeout` seconds; how many this conductor took."""
    found = await find(manager, timeout)
    up = await _hosts_up(manager, {s.host for s in found if s.host}, service_down_time)
    taken = 0
    for stalled in found:
        if stalled.host is None:
            done = await _redrive_or_fail(manager, ctx, stalled, timeout)
        elif stalled.task_state == TaskState.SCHEDULING or stalled.host not in up:
            done = await _reschedule(manager, ctx, stalled, timeout, host_up=stalled.host in up)
        else:
            done = await _fail(manager, ctx, stalled, f"Build of instance {stalled.uuid} timed "
                               f"out on {stalled.host} after {timeout:g} seconds without progress.")
        taken += done
    return taken


async def _redrive_or_fail(manager: ConductorManager, ctx: RequestContext, stalled: Stalled,
                           timeout: float) -> bool:
    saved = stalled.request_spec
    if saved.get("redriven") or "spec" not in saved:
        return await _fail(manager, ctx, stalled, f"Scheduling of instance {stalled.uuid} made "
                           f"no progress for {timeout:g} seconds.")
    async with db.transaction(manager.factory) as session:
        if not await _take(session, stalled, {"request_spec": {**saved, "redriven": True}}):
            return False
        await instances.event_finish(session, stalled.uuid, ctx.request_id, EVENT, None)
    LOG.warning("instance %s waited %gs for a host: scheduling it again", stalled.uuid, timeout)
    tried = list(saved.get("tried", []))
    spec = RequestSpec.model_validate(saved["spec"]).model_copy(update={
        "instance_uuids": [stalled.uuid], "ignore_hosts": tried})
    # A conductor that died after its claim left an allocation: the new claim needs none.
    await manager.placement.delete_allocations(stalled.uuid)
    await manager.schedule(ctx, spec, attempt=int(saved.get("attempt", 1)))
    return True


async def _reschedule(manager: ConductorManager, ctx: RequestContext, stalled: Stalled,
                      timeout: float, *, host_up: bool) -> bool:
    assert stalled.host is not None
    why = ("its agent is down" if not host_up
           else "the host never acknowledged it")
    reason = (f"Build of instance {stalled.uuid} on {stalled.host} made no progress for "
              f"{timeout:g} seconds: {why}.")
    async with db.transaction(manager.factory) as session:
        if not await _take(session, stalled, {}):
            return False
        await instances.event_finish(session, stalled.uuid, ctx.request_id, EVENT, stalled.host,
                                     error=reason)
    LOG.warning("%s", reason)
    await manager.build_failed(ctx, stalled.uuid, stalled.host, reason, retryable=True)
    return True


async def _fail(manager: ConductorManager, ctx: RequestContext, stalled: Stalled,
                reason: str) -> bool:
    async with db.transaction(manager.factory) as session:
        if not await _take(session, stalled, {"vm_state": VmState.ERROR, "task_state": None}):
            return False
        await instances.add_fault(session, stalled.uuid, reason, code=500, host=stalled.host)
        await instances.event_finish(session, stalled.uuid, ctx.request_id, EVENT, stalled.host,
                                     error=reason)
        await instances.finish_action(session, stalled.uuid, ctx.request_id)
    await manager.placement.delete_allocations(stalled.uuid)
    LOG.warning("instance %s is in ERROR: %s", stalled.uuid, reason)
    return True
