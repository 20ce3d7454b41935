"""createImage on the host: the driver writes the root disk to a file, which is uploaded into
the image the API created, with the service token. On failure the image is deleted."""

from __future__ import annotations

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


async def snapshot_instance(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                            image_id: str) -> None:
    await agent.conductor.event_start(ctx, uuid, EVENT, agent.host)
    try:
        await steps.advance(agent, ctx, uuid, {"task_state": TaskState.IMAGE_PENDING_UPLOAD},
                            TaskState.IMAGE_SNAPSHOT)
        await snapshot_into(agent, ctx, uuid, image_id, taken=TaskState.IMAGE_PENDING_UPLOAD,
                            uploading=TaskState.IMAGE_UPLOADING)
        await steps.advance(agent, ctx, uuid, {"task_state": None}, TaskState.IMAGE_UPLOADING,
                            finish_event=EVENT)
    except Exception as exc:  # the server goes on as it was; the image goes
        await delete_image(agent, image_id)
        await steps.failed(agent, ctx, uuid, EVENT, exc, {"task_state": None},
                           [TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_PENDING_UPLOAD,
                            TaskState.IMAGE_UPLOADING])
