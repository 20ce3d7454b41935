"""createImage on the host: the driver writes the root disk to a file, which is uploaded into
the image the API created, with the service token. On failure the image is deleted."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from nimbus.compute import errors
from nimbus.compute.ops import steps
from nimbus.compute.states import TaskState
from nimbus.compute.virt.driver import SupportsSnapshot
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

EVENT = "compute_snapshot_instance"
BACKUP_EVENT = "compute_backup_instance"

LOG = logging.getLogger(__name__)


async def snapshot_into(agent: ComputeAgent, ctx: RequestContext, uuid: str, image_id: str, *,
                        taken: TaskState, uploading: TaskState) -> None:
    """Snapshot the guest into `image_id`: the task state goes from `taken` to `uploading`
    once the driver has the disk's copy, and stays there (the caller moves on)."""
    driver = agent.driver
    if not isinstance(driver, SupportsSnapshot):
        raise errors.ActionNotSupported(server_id=uuid, action="snapshot")
    token = await agent.images.token()
    image = await agent.images.images.get_image(token, image_id)
    agent.images.directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=agent.images.directory, prefix=".snapshot-") as tmp:
        path = Path(tmp) / "disk"
        await driver.snapshot(uuid, path, image.disk_format or "raw")
        await steps.advance(agent, ctx, uuid, {"task_state": uploading}, taken)
        await agent.images.images.upload(token, image_id, path)


async def delete_image(agent: ComputeAgent, image_id: str) -> None:
    await agent.images.images.delete_image(await agent.images.token(), image_id)


async def _rotate(agent: ComputeAgent, uuid: str, image_id: str, backup_type: str,
                  rotation: int) -> None:
    """Keep the newest `rotation` backups of this kind of the server, `image_id` (the one just
    made) first: creation times have whole seconds, so backups of one second tie otherwise.
    Best effort."""
    token = await agent.images.token()
    try:
        backups = await agent.images.images.list_images(
            token, instance_uuid=uuid, image_type="backup", backup_type=backup_type)
        backups.sort(key=lambda image: image.id != image_id)  # stable: the rest stay newest first
        for old in backups[rotation:]:
            await agent.images.images.delete_image(token, old.id)
    except Exception as exc:  # the backup itself is done; an extra old one is no failure
        LOG.warning("rotating the %s backups of %s failed: %s", backup_type, uuid, exc)


async def snapshot_instance(agent: ComputeAgent, ctx: RequestContext, uuid: str, image_id: str,
                            backup_type: str | None = None, rotation: int | None = None) -> None:
    """createImage, or createBackup with a backup type (then the backups of that type past
    `rotation` are deleted, the new one counted, as Nova does)."""
    event = BACKUP_EVENT if backup_type else EVENT
    first = TaskState.IMAGE_BACKUP if backup_type else TaskState.IMAGE_SNAPSHOT
    await agent.conductor.event_start(ctx, uuid, event, agent.host)
    try:
        await steps.advance(agent, ctx, uuid, {"task_state": TaskState.IMAGE_PENDING_UPLOAD},
                            first)
        await snapshot_into(agent, ctx, uuid, image_id, taken=TaskState.IMAGE_PENDING_UPLOAD,
                            uploading=TaskState.IMAGE_UPLOADING)
        if backup_type is not None and rotation is not None:
            await _rotate(agent, uuid, image_id, backup_type, rotation)
        await steps.advance(agent, ctx, uuid, {"task_state": None}, TaskState.IMAGE_UPLOADING,
                            finish_event=event)
    except Exception as exc:  # the server goes on as it was; the image goes
        await delete_image(agent, image_id)
        await steps.failed(agent, ctx, uuid, event, exc, {"task_state": None},
                           [first, TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING])
