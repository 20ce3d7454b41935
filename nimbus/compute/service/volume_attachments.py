"""`os-volume_attachments`: a server's volumes as Nova shows them; attach, detach and swap
through the volume service's attachments API and the server's agent.

    attach: volume checked and reserved (attachment created, BDM written) here, with the
            caller's token -> the agent connects, hot-plugs and completes -> in-use
    detach: the agent unplugs and deletes the attachment -> the BDM goes -> available

A step that fails takes back what the steps before it did: no attachment or BDM is left
behind by a refused or failed attach.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import select

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import BlockDeviceMappingRow, InstanceRow
from nimbus.compute.schemas import VolumeAttachmentBody
from nimbus.compute.service import block_devices
from nimbus.compute.service.servers import authorized_row
from nimbus.compute.states import VmState
from nimbus.core import errors as core_errors
from nimbus.core.clients.volume import VolumeResourceNotFound
from nimbus.core.context import RequestContext

LOG = logging.getLogger(__name__)

# Nova's check_instance_state for attach_volume and detach_volume (less shelved-offloaded
# servers, which have no host here to plug into).
_ATTACHABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED, VmState.SHELVED)
_DETACHABLE = (*_ATTACHABLE, VmState.SUSPENDED, VmState.RESIZED)


@dataclasses.dataclass(frozen=True)
class VolumeAttachment:
    server_id: str
    volume_id: str
    device: str
    tag: str | None
    delete_on_termination: bool

    @classmethod
    def from_row(cls, row: BlockDeviceMappingRow) -> VolumeAttachment:
        return cls(row.instance_uuid, row.volume_id, row.device_name, row.tag,
                   row.delete_on_termination)


def view(found: VolumeAttachment, version: tuple[int, int]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": found.volume_id, "volumeId": found.volume_id,
                            "serverId": found.server_id, "device": found.device}
    if version >= (2, 70):
        body["tag"] = found.tag
    if version >= (2, 79):
        body["delete_on_termination"] = found.delete_on_termination
    return body


async def _row(deps: ComputeDeps, ctx: RequestContext, server_id: str, rule: str) -> InstanceRow:
    return await authorized_row(deps, ctx, server_id, f"os_compute_api:os-volumes-attachments:{rule}")


def _check_state(row: InstanceRow, action: str, allowed: tuple[str, ...]) -> str:
    if row.locked:
        raise errors.InstanceLocked(server_id=row.uuid)
    if row.task_state is not None:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="task_state",
                                          state=row.task_state)
    if row.vm_state not in allowed or row.host is None:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                          state=row.vm_state)
    return row.host


async def _mapping(deps: ComputeDeps, server_id: str, volume_id: str) -> BlockDeviceMappingRow:
    async with deps.read() as session:
        found = (await session.execute(select(BlockDeviceMappingRow).where(
            BlockDeviceMappingRow.instance_uuid == server_id,
            BlockDeviceMappingRow.volume_id == volume_id))).scalar()
    if found is None:
        raise errors.VolumeNotAttached(volume_id=volume_id)
    return found


async def list_attachments(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                           limit: int | None, offset: int) -> list[VolumeAttachment]:
    row = await _row(deps, ctx, server_id, "index")
    async with deps.read() as session:
        rows = await block_devices.of_instance(session, row.uuid)
    chosen = rows[offset:] if limit is None else rows[offset:offset + limit]
    return [VolumeAttachment.from_row(r) for r in chosen]


async def show_attachment(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                          volume_id: str) -> VolumeAttachment:
    row = await _row(deps, ctx, server_id, "show")
    async with deps.read() as session:
        found = (await session.execute(select(BlockDeviceMappingRow).where(
            BlockDeviceMappingRow.instance_uuid == row.uuid,
            BlockDeviceMappingRow.volume_id == volume_id))).scalar()
    if found is None:
        raise core_errors.NotFound(f"Instance {volume_id} is not attached.")
    return VolumeAttachment.from_row(found)


async def reserve(deps: ComputeDeps, ctx: RequestContext, server: InstanceRow, volume_id: str,
                  version: tuple[int, int]) -> str:
    """Check the volume as Nova does and create its attachment (the volume is `reserved`);
    the attachment id. Cinder's refusal of a volume in a wrong state is a 400."""
    token = ctx.auth_token or ""
    try:
        volume = await deps.volumes.get_volume(token, server.project_id, volume_id)
    except VolumeResourceNotFound:
        raise errors.VolumeNotFound(volume_id=volume_id) from None
    if volume.get("multiattach") and version < (2, 60):
        raise core_errors.BadRequest("Multiattach volumes are only supported starting with "
                                     "compute API version 2.60.")
    if any(a.get("server_id") == server.uuid for a in volume.get("attachments") or []):
        raise errors.InvalidVolume(reason=f"volume {volume_id} already attached")
    try:
        attachment = await deps.volumes.create_attachment(token, server.project_id, volume_id,
                                                          server.uuid)
    except VolumeResourceNotFound:
        raise errors.VolumeNotFound(volume_id=volume_id) from None
    except core_errors.NimbusError as exc:
        if exc.status == 400:
            raise errors.InvalidVolume(reason=exc.message.removeprefix("Invalid volume: ")) \
                from None
        raise
    return str(attachment["id"])


async def unreserve(deps: ComputeDeps, ctx: RequestContext, project_id: str,
                    attachment_id: str) -> None:
    """Take a reservation back; logged, not raised, so the first failure is what the caller
    sees."""
    try:
        await deps.volumes.delete_attachment(ctx.auth_token or "", project_id, attachment_id)
    except Exception as exc:
        LOG.warning("could not delete volume attachment %s: %s", attachment_id, exc)


async def _write_mapping(deps: ComputeDeps, server: InstanceRow,
                         body: VolumeAttachmentBody) -> BlockDeviceMappingRow:
    async with deps.write() as session:
        taken = await block_devices.of_instance(session, server.uuid)
        if any(t.volume_id == body.volumeId for t in taken):
            raise errors.InvalidVolume(reason=f"volume {body.volumeId} already attached")
        names = ["/dev/vda", *(t.device_name for t in taken)]
        device = body.device if body.device and body.device not in names else \
            block_devices.next_device_name(names)
        row = BlockDeviceMappingRow(instance_uuid=server.uuid, volume_id=body.volumeId,
                                    device_name=device, boot_index=None, source_type="volume",
                                    delete_on_termination=bool(body.delete_on_termination),
                                    tag=body.tag)
        session.add(row)
    return row


async def _drop_mapping(deps: ComputeDeps, row_id: int) -> None:
    async with deps.write() as session:
        found = await session.get(BlockDeviceMappingRow, row_id)
        if found is not None:
            await session.delete(found)


async def attach_volume(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                        body: VolumeAttachmentBody, version: tuple[int, int]) -> VolumeAttachment:
    row = await _row(deps, ctx, server_id, "create")
    if body.tag is not None and version < (2, 49):
        raise core_errors.BadRequest("Additional properties are not allowed ('tag' was "
                                     "unexpected)")
    if body.delete_on_termination is not None and version < (2, 79):
        raise core_errors.BadRequest("Additional properties are not allowed "
                                     "('delete_on_termination' was unexpected)")
    host = _check_state(row, "attach_volume", _ATTACHABLE)
    # The mapping first: it claims the device name, and a second attach of the same volume
    # to this server meets it (or the unique index) before anything is reserved.
    mapping = await _write_mapping(deps, row, body)
    try:
        attachment_id = await reserve(deps, ctx, row, body.volumeId, version)
    except BaseException:
        await _drop_mapping(deps, mapping.id)
        raise
    try:
        async with deps.write() as session:
            found = await session.get(BlockDeviceMappingRow, mapping.id)
            if found is None:  # the server was deleted meanwhile
                raise errors.ServerNotFound(server_id=server_id)
            found.attachment_id = attachment_id
        info = await deps.agents.attach_volume(ctx, host, row.uuid,
                                               block_devices.payload(found, row.project_id))
        async with deps.write() as session:
            found = await session.get(BlockDeviceMappingRow, mapping.id)
            if found is not None:
                found.connection_info = info
    except BaseException as exc:
        await unreserve(deps, ctx, row.project_id, attachment_id)
        await _drop_mapping(deps, mapping.id)
        if isinstance(exc, core_errors.NimbusError) and exc.status >= 500 and \
                not isinstance(exc, errors.FeatureNotSupported):
            raise errors.VolumeAttachFailed(volume_id=body.volumeId, server_id=row.uuid,
                                            reason=exc.message) from exc
        raise
    return VolumeAttachment.from_row(found or mapping)


async def detach_volume(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                        volume_id: str) -> None:
    row = await _row(deps, ctx, server_id, "delete")
    host = _check_state(row, "detach_volume", _DETACHABLE)
    mapping = await _mapping(deps, row.uuid, volume_id)
    if mapping.boot_index == 0:
        raise core_errors.BadRequest("Cannot detach a root device volume")
    await deps.agents.detach_volume(ctx, host, row.uuid,
                                    block_devices.payload(mapping, row.project_id))
    await _drop_mapping(deps, mapping.id)


_SWAPPABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.RESIZED)


async def swap_volume(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                      old_volume_id: str, new_volume_id: str) -> None:
    """Nova's swap: the server goes on with the new volume under the same device, its data
    copied; the old volume is available again. The new volume must be available."""
    row = await _row(deps, ctx, server_id, "swap")
    host = _check_state(row, "swap_volume", _SWAPPABLE)
    mapping = await _mapping(deps, row.uuid, old_volume_id)
    if old_volume_id == new_volume_id:
        raise errors.InvalidVolume(reason=f"volume {new_volume_id} is already attached")
    new_attachment = await reserve(deps, ctx, row, new_volume_id, (2, 60))
    new = block_devices.payload(mapping, row.project_id).model_copy(update={
        "volume_id": new_volume_id, "attachment_id": new_attachment})
    try:
        info = await deps.agents.swap_volume(ctx, host, row.uuid,
                                             block_devices.payload(mapping, row.project_id), new)
    except BaseException:
        await unreserve(deps, ctx, row.project_id, new_attachment)
        raise
    async with deps.write() as session:
        found = await session.get(BlockDeviceMappingRow, mapping.id)
        if found is not None:
            found.volume_id, found.attachment_id = new_volume_id, new_attachment
            found.connection_info = info
