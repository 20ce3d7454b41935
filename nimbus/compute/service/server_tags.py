"""A server's tags (`/servers/{id}/tags`, 2.26+): at most 50, each 1-60 characters without
',' or '/'. Changes need the server to rest (active, paused, suspended or stopped)."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow, InstanceTagRow
from nimbus.compute.schemas import MAX_TAGS
from nimbus.compute.service.servers import visible_row
from nimbus.compute.states import VmState
from nimbus.core import db
from nimbus.core.context import RequestContext

_CHANGEABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED)
_TAG = re.compile(r"^[^,/]*$")
MAX_TAG_LENGTH = 60


def _check_state(row: InstanceRow, action: str) -> None:
    if row.vm_state not in _CHANGEABLE:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                          state=row.vm_state)


def _check_tag(tag: str) -> None:
    if not tag:
        raise errors.InvalidTag(tag=tag, reason="'' is too short")
    if len(tag) > MAX_TAG_LENGTH:
        raise errors.InvalidTag(tag=tag, reason=f"'{tag}' is too long")
    if not _TAG.match(tag):
        raise errors.InvalidTag(tag=tag, reason=f"'{tag}' does not match '^[^,/]*$'")


async def _tags(session: AsyncSession, instance_uuid: str) -> list[str]:
    return list((await session.execute(select(InstanceTagRow.tag).where(
        InstanceTagRow.instance_uuid == instance_uuid).order_by(InstanceTagRow.tag))).scalars())


async def list_tags(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> list[str]:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:index", ctx,
                              {"project_id": row.project_id})
        return await _tags(session, row.uuid)


async def check_tag(deps: ComputeDeps, ctx: RequestContext, server_id: str, tag: str) -> None:
    """Returns if the server has `tag`; ServerTagNotFound otherwise."""
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:show", ctx,
                              {"project_id": row.project_id})
        found = await session.get(InstanceTagRow, (row.uuid, tag))
    if found is None:
        raise errors.ServerTagNotFound(server_id=server_id, tag=tag)


async def replace_tags(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                       tags: list[str]) -> list[str]:
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:update_all", ctx,
                              {"project_id": row.project_id})
        _check_state(row, "update tags")
        await session.execute(delete(InstanceTagRow).where(InstanceTagRow.instance_uuid == row.uuid))
        await session.flush()
        wanted = sorted(set(tags))
        session.add_all(InstanceTagRow(instance_uuid=row.uuid, tag=t) for t in wanted)
        row.updated_at = db.utcnow()
        return wanted


async def add_tag(deps: ComputeDeps, ctx: RequestContext, server_id: str, tag: str) -> bool:
    """Whether the tag was added (False: the server had it already)."""
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:update", ctx,
                              {"project_id": row.project_id})
        _check_state(row, "update tag")
        _check_tag(tag)
        count = (await session.execute(select(func.count()).select_from(InstanceTagRow).where(
            InstanceTagRow.instance_uuid == row.uuid))).scalar_one()
        if count >= MAX_TAGS:
            raise errors.TagLimitExceeded(limit=MAX_TAGS)
        if await session.get(InstanceTagRow, (row.uuid, tag)) is not None:
            return False
        session.add(InstanceTagRow(instance_uuid=row.uuid, tag=tag))
        row.updated_at = db.utcnow()
        return True


async def delete_tags(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:delete_all", ctx,
                              {"project_id": row.project_id})
        _check_state(row, "delete tags")
        await session.execute(delete(InstanceTagRow).where(InstanceTagRow.instance_uuid == row.uuid))
        row.updated_at = db.utcnow()


async def delete_tag(deps: ComputeDeps, ctx: RequestContext, server_id: str, tag: str) -> None:
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:os-server-tags:delete", ctx,
                              {"project_id": row.project_id})
        _check_state(row, "delete tag")
        found = await session.get(InstanceTagRow, (row.uuid, tag))
        if found is None:
            raise errors.InstanceTagNotFound(server_id=server_id, tag=tag)
        await session.delete(found)
        row.updated_at = db.utcnow()
