"""Image data: upload, download, stage and import (glance-direct), and start-up recovery.

Status moves by compare-and-swap (`UPDATE ... WHERE status = <expected>`), so a concurrent
delete or a second upload can never be lost or overwritten:

    queued --upload--> saving --done--> active <--> deactivated
      |  ^               |failed
      |  +---------------+
      +--stage--> uploading --import--> importing --done--> active
                     |failed                |failed: back to queued, staged data dropped
                     +---> queued <---------+

An interrupted upload (client gone, quota or size cap hit, server error) puts the image back
in `queued` with no data left anywhere. A process that died mid-upload is recovered the same
way by any image API process sharing its database and store, once the lease the upload held
has lapsed (see `leases`): at start-up and then every half lease.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from sqlalchemy import delete, select, update

from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.image import errors
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import HASH_ALGO, IMPORT_METHODS, Download
from nimbus.image.models import ImageRow, StagingRow, TaskRow
from nimbus.image.schemas import ImportRequest
from nimbus.image.service import access, diskinfo, leases, quotas, tasks
from nimbus.image.service.hashing import Digest, TooMuchData, hashed_blocks
from nimbus.image.store import DataNotFound, Store, StoreError, StoreFull, SupportsAdopt, SupportsLocalPath

LOG = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _require_octet_stream(content_type: str | None) -> None:
    if (content_type or "").split(";")[0].strip().lower() != OCTET_STREAM:
        raise errors.WrongContentType(content_type=content_type or "(none)",
                                      expected=OCTET_STREAM)


async def _move_status(deps: ImageDeps, image_id: str, expected: str, wanted: str,
                       **values: Any) -> bool:
    """CAS on the status; True if this call made the move."""
    async with deps.write() as session:
        result = await session.execute(
            update(ImageRow).where(ImageRow.id == image_id, ImageRow.status == expected)
            .values(status=wanted, updated_at=db.utcnow(), **values))
        return bool(getattr(result, "rowcount", 0))


async def _restore(deps: ImageDeps, image_id: str, expected: str) -> None:
    """Back to queued after a failed write; survives the cancellation of its caller."""
    try:
        await asyncio.shield(_move_status(deps, image_id, expected, "queued", size=None,
                                          virtual_size=None))
    except Exception:
        LOG.exception("could not put image %s back to queued", image_id)


async def _claim(deps: ImageDeps, ctx: RequestContext, image_id: str, wanted: str, *,
                 staging: bool, declared_size: int | None) -> tuple[ImageRow, int]:
    """Checks and the queued -> `wanted` move, in one transaction; returns (row, bytes allowed)."""
    async with deps.write() as session:
        row = await access.visible_row(session, ctx, image_id, for_update=True)
        if not deps.policy.allowed("image:upload_image", ctx, access.policy_target(row)):
            raise errors.ImageNotModifiable(image_id=image_id)
        if row.status != "queued":
            raise errors.InvalidStatusTransition(current=row.status, wanted=wanted)
        if not staging:
            missing = [k for k in ("disk_format", "container_format") if not getattr(row, k)]
            if missing:
                raise errors.InvalidImage(detail=f"Properties {', '.join(missing)} must be set "
                                                 "prior to saving data.")
        allowed = await quotas.bytes_allowed(session, deps.config, row.owner, staging=staging)
        if declared_size is not None and declared_size > allowed:
            raise _too_much(deps, row.owner, allowed, declared_size, staging)
        row.status = wanted
        row.updated_at = db.utcnow()
        return row, allowed


def _too_much(deps: ImageDeps, owner: str | None, allowed: int, wanted: int,
              staging: bool) -> core_errors.NimbusError:
    if allowed >= deps.config.image_size_cap:
        return errors.ImageTooLarge(limit=deps.config.image_size_cap)
    return errors.QuotaExceeded(project_id=owner,
                                resource="image_stage_total" if staging else "image_size_total",
                                limit=allowed, wanted=wanted)


async def _write(deps: ImageDeps, store: Store, image_id: str, owner: str | None,
                 chunks: AsyncIterable[bytes], allowed: int, staging: bool,
                 expected_size: int | None) -> tuple[str, Digest]:
    """Stream into `store`; every failure is mapped to an API error, with nothing stored."""
    digest = Digest()
    try:
        location = await store.add(image_id, hashed_blocks(chunks, digest, limit=allowed))
    except TooMuchData as exc:
        raise _too_much(deps, owner, exc.limit, digest.size, staging) from exc
    except StoreFull as exc:
        raise errors.StorageFull(detail=exc.message) from exc
    except StoreError as exc:
        raise core_errors.ServiceUnavailable(exc.message) from exc
    if expected_size is not None and expected_size != digest.size:
        await store.delete(location)
        raise errors.InvalidImage(detail=f"Image size mismatch: {expected_size} declared, "
                                         f"{digest.size} received.")
    return location, digest


async def _virtual_size(deps: ImageDeps, store: Store, location: str, disk_format: str | None,
                        size: int) -> int | None:
    path = store.local_path(location) if isinstance(store, SupportsLocalPath) else None
    return await diskinfo.virtual_size(deps.qemu_img, path, disk_format or "", size)


async def upload(deps: ImageDeps, ctx: RequestContext, image_id: str, *,
                 content_type: str | None, declared_size: int | None,
                 chunks: AsyncIterable[bytes]) -> None:
    """PUT /file: queued -> saving -> active, or back to queued with nothing stored."""
    _require_octet_stream(content_type)
    row, allowed = await _claim(deps, ctx, image_id, "saving", staging=False,
                                declared_size=declared_size)
    async with leases.held(deps, image_id, "saving"):
        try:
            location, digest = await _write(deps, deps.store, image_id, row.owner, chunks,
                                            allowed, False, declared_size)
        except BaseException:
            await _restore(deps, image_id, "saving")
            raise
        virtual = await _virtual_size(deps, deps.store, location, row.disk_format, digest.size)
    activated = await _move_status(
        deps, image_id, "saving", "active", size=digest.size, virtual_size=virtual,
        checksum=digest.checksum, os_hash_algo=HASH_ALGO, os_hash_value=digest.os_hash_value,
        store=deps.store.store_id, location=location)
    if not activated:
        await deps.store.delete(location)
        raise errors.ImageDeletedDuringUpload(image_id=image_id)
    LOG.info("image %s active: %d bytes, md5 %s", image_id, digest.size, digest.checksum)


def _parse_range(header: str | None, size: int) -> tuple[int, int, bool]:
    """(offset, length, partial) for a `Range: bytes=...` header (one range; 416 otherwise)."""
    if header is None:
        return 0, size, False
    match = _RANGE_RE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        raise errors.RangeNotSatisfiable(range=header, size=size)
    first, last = match.group(1), match.group(2)
    if first == "":
        length = min(int(last), size)
        if length == 0:
            raise errors.RangeNotSatisfiable(range=header, size=size)
        return size - length, length, True
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise errors.RangeNotSatisfiable(range=header, size=size)
    return start, end - start + 1, True


async def _primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Reads the first chunk now, so that missing data fails before any response starts."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


async def download(deps: ImageDeps, ctx: RequestContext, image_id: str,
                   range_header: str | None) -> Download | None:
    """The image's bytes (or a range of them); None when the image has no data (204)."""
    async with deps.read() as session:
        row = await access.visible_row(session, ctx, image_id)
        deps.policy.authorize("image:download_image", ctx, access.policy_target(row))
        if row.status == "deactivated" and not ctx.is_admin:
            raise errors.ImageDeactivated()
        image = await access.to_image(session, row)
        location, size = row.location, row.size
    if location is None or size is None:
        return None
    offset, length, partial = _parse_range(range_header, size)
    try:
        chunks = await _primed(deps.store.get(location, offset=offset, length=length))
    except DataNotFound:
        return None
    return Download(image=image, chunks=chunks, offset=offset, length=length, partial=partial)


async def stage(deps: ImageDeps, ctx: RequestContext, image_id: str, *,
                content_type: str | None, declared_size: int | None,
                chunks: AsyncIterable[bytes]) -> None:
    """PUT /stage (glance-direct): queued -> uploading, the data and its checksums kept aside."""
    _require_octet_stream(content_type)
    row, allowed = await _claim(deps, ctx, image_id, "uploading", staging=True,
                                declared_size=declared_size)
    async with leases.held(deps, image_id, "uploading"):
        try:
            location, digest = await _write(deps, deps.staging, image_id, row.owner, chunks,
                                            allowed, True, declared_size)
        except BaseException:
            await _restore(deps, image_id, "uploading")
            raise
    async with deps.write() as session:
        current = await session.get(ImageRow, image_id, with_for_update=True)
        if current is not None and current.status == "uploading":
            session.add(StagingRow(image_id=image_id, store=deps.staging.store_id,
                                   location=location, size=digest.size,
                                   checksum=digest.checksum, os_hash_value=digest.os_hash_value))
            current.size = digest.size
            return
    await deps.staging.delete(location)
    raise errors.ImageDeletedDuringUpload(image_id=image_id)


def _check_import(row: ImageRow, staged: StagingRow | None) -> None:
    if row.status == "active":
        raise errors.ImportConflict(detail="Image with status active cannot be target for import")
    if row.status != "uploading" or staged is None:
        raise errors.ImportConflict(
            detail="Image needs to be staged before 'glance-direct' method can be used")
    for key in ("container_format", "disk_format"):
        if not getattr(row, key):
            raise errors.ImportConflict(detail=f"'{key}' needs to be set before import")


async def import_image(deps: ImageDeps, ctx: RequestContext, image_id: str,
                       body: ImportRequest) -> None:
    """POST /import with glance-direct: the staged data becomes the image's data."""
    if body.method.name not in IMPORT_METHODS:
        raise errors.InvalidImage(detail=f"Unknown import method name '{body.method.name}'.")
    for store_id in body.stores or []:
        if store_id != deps.store.store_id:
            raise errors.InvalidImage(detail=f"Unknown store '{store_id}'.")
    async with deps.write() as session:
        row = await access.visible_row(session, ctx, image_id, for_update=True)
        if not deps.policy.allowed("image:modify_image", ctx, access.policy_target(row)):
            raise errors.ImageNotModifiable(image_id=image_id)
        staged = await session.get(StagingRow, image_id)
        _check_import(row, staged)
        assert staged is not None
        row.status = "importing"
        row.updated_at = db.utcnow()
        task_id = tasks.start(session, ctx, image_id, row.owner,
                              body.model_dump(exclude_unset=True))
        disk_format, staged_location = row.disk_format, staged.location
        size, checksum, sha512 = staged.size, staged.checksum, staged.os_hash_value
    async with leases.held(deps, image_id, "importing"):
        try:
            location = await _take_staged(deps, image_id, staged_location)
        except Exception as exc:
            await _fail_import(deps, image_id, task_id, staged_location, exc)
            raise core_errors.ServiceUnavailable("The staged data could not be imported.") from exc
        virtual = await _virtual_size(deps, deps.store, location, disk_format, size)
    activated = await _move_status(
        deps, image_id, "importing", "active", size=size, virtual_size=virtual,
        checksum=checksum, os_hash_algo=HASH_ALGO, os_hash_value=sha512,
        store=deps.store.store_id, location=location)
    if not activated:
        await deps.store.delete(location)
        raise errors.ImageDeletedDuringUpload(image_id=image_id)
    async with deps.write() as session:
        await session.execute(delete(StagingRow).where(StagingRow.image_id == image_id))
    await tasks.finish(deps, task_id, ok=True)
    LOG.info("image %s imported (glance-direct), %d bytes", image_id, size)


async def _take_staged(deps: ImageDeps, image_id: str, staged_location: str) -> str:
    if isinstance(deps.store, SupportsAdopt):
        moved = await deps.store.adopt(deps.staging, staged_location, image_id)
        if moved is not None:
            return moved
    location = await deps.store.add(image_id, deps.staging.get(staged_location))
    await deps.staging.delete(staged_location)
    return location


async def _fail_import(deps: ImageDeps, image_id: str, task_id: str, staged_location: str,
                       exc: BaseException) -> None:
    """Glance's rule: a failed import leaves the image queued, without staged data."""
    LOG.error("import of image %s failed: %s", image_id, exc)
    await _move_status(deps, image_id, "importing", "queued", size=None, virtual_size=None)
    async with deps.write() as session:
        await session.execute(delete(StagingRow).where(StagingRow.image_id == image_id))
    await deps.staging.delete(staged_location)
    await tasks.finish(deps, task_id, ok=False, message=str(exc))


async def recover(deps: ImageDeps) -> None:
    """Undo the uploads, stages and imports of processes that died (see the module doc).

    Only images whose lease has lapsed are touched, so another live process sharing the
    database and the store keeps its uploads; so are its partial files, which the sweep spares
    (those of live images, and any too young to be a dead process's).
    """
    now = db.utcnow()
    async with deps.write() as session:
        staged_ids = set((await session.execute(select(StagingRow.image_id))).scalars())
        in_progress = list((await session.execute(
            select(ImageRow).where(ImageRow.status.in_(leases.IN_PROGRESS))
            .with_for_update())).scalars())
        cutoff = leases.stale_before(deps)
        recovered: list[str] = []
        for row in in_progress:
            # Staged and waiting for an import request is a resting state, not a dead upload.
            at_rest = row.status == "uploading" and row.id in staged_ids
            if at_rest or row.updated_at >= cutoff:
                continue
            # A staged image goes back to uploading, so that import can be asked again.
            row.status = "uploading" if row.id in staged_ids else "queued"
            row.updated_at = now
            if row.status == "queued":
                row.size = None
                row.virtual_size = None
            recovered.append(row.id)
        if recovered:
            await session.execute(
                update(TaskRow).where(TaskRow.image_id.in_(recovered),
                                      TaskRow.status == "processing")
                .values(status="failure", message="The server restarted during the import."))
        live = {row.id for row in in_progress if row.id not in recovered}
    lease = deps.config.upload_lease_seconds
    await deps.store.sweep(live=live, min_age=lease)
    await deps.staging.sweep(live=live, min_age=lease)
    if recovered:
        LOG.warning("recovered %d images from interrupted uploads or imports: %s",
                    len(recovered), ", ".join(recovered))
