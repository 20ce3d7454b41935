"""A server's metadata (`/servers/{id}/metadata`): read by readers, changed by members while
the server rests in a state Nova allows (active, paused, suspended, stopped; no task running)
and is not locked. The metadata_items quota bounds the result of every change."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceMetadataRow, InstanceRow
from nimbus.compute.service import quotas
from nimbus.compute.service.servers import visible_row
from nimbus.compute.states import VmState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

_CHANGEABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED)
_ATTEMPTS = 3


def check_changeable(ctx: RequestContext, row: InstanceRow, action: str) -> None:
    """Nova's check_instance_lock, then check_instance_state(vm_state=..., task_state=None)."""
    if row.locked and not ctx.is_admin:
        raise errors.InstanceLocked(server_id=row.uuid)
    if row.vm_state not in _CHANGEABLE:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                          state=row.vm_state)
    if row.task_state is not None:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="task_state",
                                          state=row.task_state)


async def _metadata(session: AsyncSession, instance_uuid: str) -> dict[str, str]:
    rows = await session.execute(select(InstanceMetadataRow).where(
        InstanceMetadataRow.instance_uuid == instance_uuid).order_by(InstanceMetadataRow.key))
    return {m.key: m.value for m in rows.scalars()}


async def get_metadata(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> dict[str, str]:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:server-metadata:index", ctx,
                              {"project_id": row.project_id})
        return await _metadata(session, row.uuid)


async def get_item(deps: ComputeDeps, ctx: RequestContext, server_id: str, key: str) -> str:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:server-metadata:show", ctx,
                              {"project_id": row.project_id})
        found = await _metadata(session, row.uuid)
    if key not in found:
        raise errors.MetadataItemNotFound()
    return found[key]


async def update_metadata(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                          metadata: dict[str, str], *, replace: bool, rule: str) -> dict[str, str]:
    """Merge `metadata` into the server's (or, `replace`, make it the server's); the result.

    `rule` is the policy of the route: create (POST), update_all (PUT) or update (one key).
    """
    for attempt in range(_ATTEMPTS):
        try:
            async with deps.write() as session:
                row = await visible_row(session, ctx, server_id)
                deps.policy.authorize(f"os_compute_api:server-metadata:{rule}", ctx,
                                      {"project_id": row.project_id})
                check_changeable(ctx, row, "update metadata")
                current = await _metadata(session, row.uuid)
                wanted = dict(metadata) if replace else {**current, **metadata}
                allowed = (await quotas.limits(session, deps.settings.compute.quotas,
                                               row.project_id))["metadata_items"]
                if 0 <= allowed < len(wanted):
                    raise errors.MetadataLimitExceeded(allowed=allowed)
                for key in set(current) - set(wanted):
                    await session.execute(delete(InstanceMetadataRow).where(
                        InstanceMetadataRow.instance_uuid == row.uuid,
                        InstanceMetadataRow.key == key))
                for key, value in wanted.items():
                    if key not in current:
                        session.add(InstanceMetadataRow(instance_uuid=row.uuid, key=key,
                                                        value=value))
                    elif current[key] != value:
                        existing = await session.get(InstanceMetadataRow, (row.uuid, key))
                        if existing is not None:
                            existing.value = value
                row.updated_at = db.utcnow()
                return wanted
        except core_errors.Conflict as exc:
            # A concurrent change added the same key first: apply ours on top of it.
            if isinstance(exc, errors.InstanceInvalidState | errors.InstanceLocked) \
                    or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def delete_item(deps: ComputeDeps, ctx: RequestContext, server_id: str, key: str) -> None:
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:server-metadata:delete", ctx,
                              {"project_id": row.project_id})
        if key not in await _metadata(session, row.uuid):
            raise errors.MetadataItemNotFound()
        check_changeable(ctx, row, "delete metadata")
        await session.execute(delete(InstanceMetadataRow).where(
            InstanceMetadataRow.instance_uuid == row.uuid, InstanceMetadataRow.key == key))
        row.updated_at = db.utcnow()
