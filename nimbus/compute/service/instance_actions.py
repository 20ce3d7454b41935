"""os-instance-actions: what was done to a server, and each step of it."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceActionEventRow, InstanceActionRow, InstanceRow
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext


@dataclasses.dataclass(frozen=True)
class Action:
    row: InstanceActionRow
    events: list[InstanceActionEventRow]


async def _instance(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> InstanceRow:
    """Actions outlive their server: a deleted server's actions stay readable, as in Nova."""
    async with deps.read() as session:
        row = await session.get(InstanceRow, server_id)
    if row is None or not ctx.may_see(row.project_id):
        raise errors.ServerNotFound(server_id=server_id)
    return row


async def list_actions(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> list[Action]:
    row = await _instance(deps, ctx, server_id)
    deps.policy.authorize("os_compute_api:os-instance-actions:list", ctx,
                          {"project_id": row.project_id})
    async with deps.read() as session:
        rows = (await session.execute(select(InstanceActionRow).where(
            InstanceActionRow.instance_uuid == server_id).order_by(
            InstanceActionRow.start_time.desc(), InstanceActionRow.id.desc()))).scalars()
        return [Action(r, []) for r in rows]


async def get_action(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                     request_id: str) -> Action:
    row = await _instance(deps, ctx, server_id)
    deps.policy.authorize("os_compute_api:os-instance-actions:show", ctx,
                          {"project_id": row.project_id})
    async with deps.read() as session:
        action = (await session.execute(select(InstanceActionRow).where(
            InstanceActionRow.instance_uuid == server_id,
            InstanceActionRow.request_id == request_id))).scalar()
        if action is None:
            raise core_errors.NotFound(
                f"Action {request_id} on instance {server_id} not found")
        events = list((await session.execute(select(InstanceActionEventRow).where(
            InstanceActionEventRow.action_id == action.id).order_by(
            InstanceActionEventRow.id))).scalars())
        return Action(action, events)
