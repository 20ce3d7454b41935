"""Attaching volumes to servers: the attachments API (3.27+) and the older volume actions
(os-reserve, os-unreserve, os-initialize_connection, os-attach, os-detach,
os-begin_detaching, os-roll_detaching, os-terminate_connection).

The volume's status follows its attachments: `reserved` or `attaching` while one is being
made, `in-use` while any is attached, `available` when none is left. The host only answers
how to reach the volume (connection_info); every status change is a database write here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.volume import errors, states
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import AttachmentRow, VolumeRow
from nimbus.volume.service.common import Attachment, new_id, volume_row

ATTACHED, DETACHED, RESERVED, ATTACHING = "attached", "detached", "reserved", "attaching"


async def _attachments(session: AsyncSession, volume_id: str) -> list[AttachmentRow]:
    return list((await session.execute(select(AttachmentRow).where(
        AttachmentRow.volume_id == volume_id).order_by(AttachmentRow.created_at))).scalars())


async def _settle(session: AsyncSession, volume: VolumeRow) -> None:
    """Derive the volume's status from what is left of its attachments."""
    left = [a for a in await _attachments(session, volume.id) if a.attach_status != DETACHED]
    if any(a.attach_status == ATTACHED for a in left):
        volume.status, volume.attach_status = states.IN_USE, ATTACHED
    elif any(a.attach_status == ATTACHING for a in left):
        volume.status, volume.attach_status = states.ATTACHING, ATTACHING
    elif left:
        volume.status, volume.attach_status = states.RESERVED, RESERVED
    else:
        volume.status, volume.attach_status = states.AVAILABLE, DETACHED
    volume.updated_at = db.utcnow()


def _check_attachable(volume: VolumeRow, existing: list[AttachmentRow],
                      instance_uuid: str | None) -> None:
    live = [a for a in existing if a.attach_status != DETACHED]
    if volume.status == states.AVAILABLE and not live:
        return
    if volume.multiattach and volume.status in (states.IN_USE, states.RESERVED,
                                                states.ATTACHING):
        return
    # A server moving to another host holds a second attachment for the destination (or
    # swaps its attachment for a bare reservation), as Cinder allows for its own server.
    if (instance_uuid and volume.status in (states.IN_USE, states.RESERVED)
            and any(a.instance_uuid == instance_uuid for a in live)):
        return
    raise errors.InvalidVolume(reason=f"Volume {volume.id} status must be available or "
                                      f"downloading to reserve, but the current status is "
                                      f"{volume.status}.")


async def _connection_info(deps: VolumeDeps, ctx: RequestContext, volume: VolumeRow,
                           connector: dict[str, Any], mode: str) -> dict[str, Any]:
    if volume.host is None:
        raise errors.InvalidVolume(reason=f"Volume {volume.id} is not on a backend.")
    info = await deps.volumes.initialize_connection(ctx, volume.host, volume.id, connector)
    info.setdefault("data", {})
    info["data"].update({"access_mode": "ro" if volume.readonly else mode,
                         "attachment_id": None, "qos_specs": None,
                         "encrypted": False, "discard": False})
    return info


def view(row: AttachmentRow, project_id: str) -> Attachment:
    return Attachment.from_row(row, project_id)


# -- the attachments API (3.27+) --------------------------------------------------------------

async def create(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                 instance_uuid: str | None, connector: dict[str, Any] | None, mode: str,
                 version: tuple[int, int]) -> Attachment:
    """Reserve the volume for a server; with a connector, also connect it (as update does)."""
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume:attachment_create", ctx, {"project_id": volume.project_id})
        _check_attachable(volume, await _attachments(session, volume.id), instance_uuid)
        row = AttachmentRow(id=new_id(), volume_id=volume.id, instance_uuid=instance_uuid,
                            attach_mode=mode, attach_status=RESERVED, created_at=db.utcnow())
        session.add(row)
        await session.flush()
        await _settle(session, volume)
    if connector:
        return await update(deps, ctx, row.id, connector, version)
    return view(row, volume.project_id)


async def _attachment(session: AsyncSession, ctx: RequestContext,
                      attachment_id: str) -> tuple[AttachmentRow, VolumeRow]:
    row = await session.get(AttachmentRow, attachment_id)
    volume = await session.get(VolumeRow, row.volume_id) if row is not None else None
    if row is None or volume is None or not ctx.may_see(volume.project_id):
        raise errors.AttachmentNotFound(attachment_id=attachment_id)
    return row, volume


async def update(deps: VolumeDeps, ctx: RequestContext, attachment_id: str,
                 connector: dict[str, Any], version: tuple[int, int]) -> Attachment:
    """Connect: the host's connection_info for this connector. Before 3.44 (no os-complete)
    the attachment counts as attached from here."""
    async with deps.read() as session:
        row, volume = await _attachment(session, ctx, attachment_id)
        deps.policy.authorize("volume:attachment_update", ctx, {"project_id": volume.project_id})
    info = await _connection_info(deps, ctx, volume, connector, row.attach_mode)
    info["data"]["attachment_id"] = attachment_id
    async with deps.write() as session:
        row, volume = await _attachment(session, ctx, attachment_id)
        row.connector, row.connection_info = connector, info
        row.attached_host = str(connector.get("host") or "") or None
        row.mountpoint = connector.get("mountpoint") or row.mountpoint
        if version >= (3, 44):
            row.attach_status = ATTACHING
        else:
            row.attach_status, row.attach_time = ATTACHED, db.utcnow()
        await session.flush()
        await _settle(session, volume)
        return view(row, volume.project_id)


async def complete(deps: VolumeDeps, ctx: RequestContext, attachment_id: str) -> None:
    async with deps.write() as session:
        row, volume = await _attachment(session, ctx, attachment_id)
        deps.policy.authorize("volume:attachment_complete", ctx, {"project_id": volume.project_id})
        if row.connection_info is None:
            raise errors.InvalidAttachment(reason="The attachment has no connection yet: update "
                                                  "it with a connector first.")
        row.attach_status, row.attach_time = ATTACHED, db.utcnow()
        await session.flush()
        await _settle(session, volume)


async def delete(deps: VolumeDeps, ctx: RequestContext, attachment_id: str) -> list[Attachment]:
    """Detach and forget the attachment; the volume's remaining attachments."""
    async with deps.write() as session:
        row, volume = await _attachment(session, ctx, attachment_id)
        deps.policy.authorize("volume:attachment_delete", ctx, {"project_id": volume.project_id})
        await session.delete(row)
        await session.flush()
        await _settle(session, volume)
        return [view(a, volume.project_id) for a in await _attachments(session, volume.id)]


async def get(deps: VolumeDeps, ctx: RequestContext, attachment_id: str) -> Attachment:
    async with deps.read() as session:
        row, volume = await _attachment(session, ctx, attachment_id)
        deps.policy.authorize("volume:attachment_get", ctx, {"project_id": volume.project_id})
        return view(row, volume.project_id)


async def list_all(deps: VolumeDeps, ctx: RequestContext, filters: dict[str, str],
                   all_tenants: bool) -> list[Attachment]:
    deps.policy.authorize("volume:attachment_get", ctx, {"project_id": ctx.project_id})
    async with deps.read() as session:
        query = select(AttachmentRow, VolumeRow.project_id).join(
            VolumeRow, VolumeRow.id == AttachmentRow.volume_id)
        if not (all_tenants and ctx.is_admin):
            query = query.where(VolumeRow.project_id == (ctx.project_id or ""))
        if "volume_id" in filters:
            query = query.where(AttachmentRow.volume_id == filters["volume_id"])
        if "instance_id" in filters:
            query = query.where(AttachmentRow.instance_uuid == filters["instance_id"])
        if "status" in filters:
            query = query.where(AttachmentRow.attach_status == filters["status"])
        rows = (await session.execute(query.order_by(AttachmentRow.created_at))).all()
    return [view(a, project) for a, project in rows]


# -- the older volume actions ----------------------------------------------------------------

async def _cas(deps: VolumeDeps, ctx: RequestContext, volume_id: str, rule: str,
               expected: set[str], new_status: str, message: str) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize(rule, ctx, {"project_id": volume.project_id})
        if volume.status not in expected:
            raise errors.InvalidVolume(reason=message.format(status=volume.status))
        volume.status, volume.updated_at = new_status, db.utcnow()


async def reserve(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_actions:reserve", ctx,
                              {"project_id": volume.project_id})
        expected = {states.AVAILABLE, states.IN_USE} if volume.multiattach else {states.AVAILABLE}
        if volume.status not in expected:
            raise errors.InvalidVolume(reason=f"Volume status must be available to reserve, "
                                              f"but the status is {volume.status}.")
        volume.status, volume.updated_at = states.ATTACHING, db.utcnow()


async def unreserve(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_actions:unreserve", ctx,
                              {"project_id": volume.project_id})
        if volume.status == states.ATTACHING:
            await _settle(session, volume)


async def begin_detaching(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> None:
    await _cas(deps, ctx, volume_id, "volume_extension:volume_actions:begin_detaching",
               {states.IN_USE}, states.DETACHING,
               "Unable to detach volume. Volume status must be 'in-use' and attach_status must "
               "be 'attached' to detach. Currently: status: '{status}'.")


async def roll_detaching(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_actions:roll_detaching", ctx,
                              {"project_id": volume.project_id})
        if volume.status == states.DETACHING:
            await _settle(session, volume)


async def initialize_connection(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                                connector: dict[str, Any]) -> dict[str, Any]:
    async with deps.read() as session:
        volume = await volume_row(session, ctx, volume_id)
        deps.policy.authorize("volume_extension:volume_actions:initialize_connection", ctx,
                              {"project_id": volume.project_id})
    return await _connection_info(deps, ctx, volume, connector, "rw")


async def terminate_connection(deps: VolumeDeps, ctx: RequestContext, volume_id: str) -> None:
    """Nothing for a host to undo on the file backend; the caller's rights are still checked."""
    async with deps.read() as session:
        volume = await volume_row(session, ctx, volume_id)
        deps.policy.authorize("volume_extension:volume_actions:terminate_connection", ctx,
                              {"project_id": volume.project_id})


async def attach(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                 instance_uuid: str | None, host_name: str | None, mountpoint: str,
                 mode: str) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        deps.policy.authorize("volume_extension:volume_actions:attach", ctx,
                              {"project_id": volume.project_id})
        if volume.readonly and mode != "ro":
            raise errors.InvalidVolume(reason=f"Volume {volume_id} is read-only: attach it "
                                              "with mode 'ro'.")
        existing = await _attachments(session, volume.id)
        if volume.status != states.ATTACHING:
            _check_attachable(volume, existing, instance_uuid)
        session.add(AttachmentRow(id=new_id(), volume_id=volume.id, instance_uuid=instance_uuid,
                                  attached_host=host_name, mountpoint=mountpoint, attach_mode=mode,
                                  attach_status=ATTACHED, attach_time=db.utcnow(),
                                  created_at=db.utcnow()))
        await session.flush()
        await _settle(session, volume)


async def detach(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                 attachment_id: str | None, *, force: bool = False) -> None:
    async with deps.write() as session:
        volume = await volume_row(session, ctx, volume_id, for_update=True)
        rule = ("volume_extension:volume_admin_actions:force_detach" if force
                else "volume_extension:volume_actions:detach")
        deps.policy.authorize(rule, ctx, {"project_id": volume.project_id})
        existing = [a for a in await _attachments(session, volume.id)
                    if a.attach_status != DETACHED]
        if attachment_id is None and len(existing) > 1:
            raise errors.InvalidVolume(reason="Detach volume with multiple attachments needs "
                                              "an attachment_id.")
        chosen = [a for a in existing if attachment_id is None or a.id == attachment_id]
        if not chosen and attachment_id is not None and not force:
            raise errors.AttachmentNotFound(attachment_id=attachment_id)
        # Nothing attached: as Cinder's manager, the volume is settled (available) and the
        # detach succeeds, so a caller's clean-up after a force detach does not fail.
        for row in chosen:
            await session.delete(row)
        await session.flush()
        await _settle(session, volume)
