"""Which in-progress images (saving, uploading, importing) a live image API process is working on.

Several API processes may share one database and one store directory. The process moving an
image's data renews the image's `updated_at` every quarter of `upload_lease_seconds` while it
works (`held`), so an in-progress image whose `updated_at` is older than the lease belongs to a
process that died, and recovery can put it back without touching a live process's upload.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import update

from nimbus.core import db
from nimbus.core.tasks import TaskGroup
from nimbus.image.deps import ImageDeps
from nimbus.image.models import ImageRow

LOG = logging.getLogger(__name__)

IN_PROGRESS = ("saving", "uploading", "importing")


def stale_before(deps: ImageDeps) -> dt.datetime:
    """In-progress images last renewed before this belong to a process that died."""
    return db.utcnow() - dt.timedelta(seconds=deps.config.upload_lease_seconds)


async def _renew(deps: ImageDeps, image_id: str, status: str) -> None:
    async with deps.write() as session:
        await session.execute(
            update(ImageRow).where(ImageRow.id == image_id, ImageRow.status == status)
            .values(updated_at=db.utcnow()))


async def _renew_forever(deps: ImageDeps, image_id: str, status: str) -> None:
    interval = deps.config.upload_lease_seconds / 4
    while True:
        await asyncio.sleep(interval)
        try:
            await _renew(deps, image_id, status)
        except Exception:  # the next renewal may work; the lease has three more chances
            LOG.exception("could not renew the lease on image %s", image_id)


@asynccontextmanager
async def held(deps: ImageDeps, image_id: str, status: str) -> AsyncIterator[None]:
    """Keeps the lease on `image_id` (in `status`) fresh for as long as the block runs."""
    tasks = TaskGroup("image-lease")
    tasks.start(_renew_forever(deps, image_id, status), name=image_id)
    try:
        yield
    finally:
        await tasks.aclose()
