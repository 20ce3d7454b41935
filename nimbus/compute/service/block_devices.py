"""A server's block device mappings (Nova's BDMs): which volumes it has, as rows of compute.

The API writes a row when it reserves a volume for a server and removes it at detach; the
conductor reads them for a build and a delete, and `mark_deleted` drops them with the server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import BlockDeviceMappingRow
from nimbus.compute.objects import BlockDevice
from nimbus.core.clients.volume import VolumeClient

LOG = logging.getLogger(__name__)


_OF_INSTANCES = select(BlockDeviceMappingRow).where(BlockDeviceMappingRow.instance_uuid.in_(
    bindparam("uuids", expanding=True))).order_by(BlockDeviceMappingRow.id)  # built once


async def of_instances(session: AsyncSession,
                       uuids: Sequence[str]) -> dict[str, list[BlockDeviceMappingRow]]:
    """Each instance's mappings, boot volume first, then in attach order."""
    found: dict[str, list[BlockDeviceMappingRow]] = {u: [] for u in uuids}
    if uuids:
        rows = await session.execute(_OF_INSTANCES, {"uuids": list(uuids)})
        for row in rows.scalars():
            found[row.instance_uuid].append(row)
    for rows_of in found.values():
        rows_of.sort(key=lambda r: r.boot_index != 0)
    return found


async def of_instance(session: AsyncSession, uuid: str) -> list[BlockDeviceMappingRow]:
    return (await of_instances(session, [uuid]))[uuid]


def payload(row: BlockDeviceMappingRow, project_id: str) -> BlockDevice:
    return BlockDevice(volume_id=row.volume_id, attachment_id=row.attachment_id,
                       project_id=project_id, device_name=row.device_name,
                       boot_index=row.boot_index,
                       delete_on_termination=row.delete_on_termination)


async def payloads(session: AsyncSession, uuid: str, project_id: str) -> list[BlockDevice]:
    return [payload(r, project_id) for r in await of_instance(session, uuid)]


async def set_attachment(session: AsyncSession, uuid: str, volume_id: str,
                         attachment_id: str) -> None:
    await session.execute(update(BlockDeviceMappingRow).where(
        BlockDeviceMappingRow.instance_uuid == uuid,
        BlockDeviceMappingRow.volume_id == volume_id).values(attachment_id=attachment_id))


async def forget(session: AsyncSession, uuid: str) -> None:
    await session.execute(delete(BlockDeviceMappingRow).where(
        BlockDeviceMappingRow.instance_uuid == uuid))


def next_device_name(taken: Sequence[str]) -> str:
    """The first free /dev/vdX after the root disk (vda), as Nova's libvirt driver names them."""
    used = {name.rsplit("/", 1)[-1] for name in taken}
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"vd{letter}" not in used:
            return f"/dev/vd{letter}"
    raise ValueError("no device name left")


async def release(volumes: VolumeClient, token: str, project_id: str,
                  mappings: Sequence[BlockDeviceMappingRow], *, deleting: bool) -> None:
    """Delete the mappings' attachments, and with `deleting` (the server goes without a host
    to do it) the volumes marked delete_on_termination; best effort per volume."""
    for mapping in mappings:
        try:
            if mapping.attachment_id:
                await volumes.delete_attachment(token, project_id, mapping.attachment_id)
            if deleting and mapping.delete_on_termination:
                await volumes.delete_volume(token, project_id, mapping.volume_id)
        except Exception as exc:  # reported; the next volume is still released
            LOG.warning("could not release volume %s: %s", mapping.volume_id, exc)
