"""Image bytes as files in one directory: written to a hidden temporary file, made durable
(fsync of the file, rename, fsync of the directory), and only then given a location."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Container
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nimbus.image.store.base import (
    DataNotFound,
    Store,
    StoreError,
    StoreFull,
    SupportsAdopt,
    SupportsLocalPath,
)

LOG = logging.getLogger(__name__)

READ_CHUNK = 4 << 20
WRITE_CHUNK = 1 << 20
_PART_SUFFIX = ".part"


class FilesystemStore(Store, SupportsAdopt, SupportsLocalPath):
    """Locations are `file://<absolute path>`; files are named by image id.

    Writes go to `.<image_id>.<random>.part` in the same directory and are renamed into place
    once complete, so a reader never sees half an image and a crash leaves only `.part` files,
    which `sweep()` removes at start-up.
    """

    def __init__(self, root: Path, store_id: str = "file") -> None:
        self.root = root.resolve()
        self.store_id = store_id
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, location: str) -> Path:
        if not location.startswith("file://"):
            raise DataNotFound(f"Location {location!r} is not in this store.")
        path = Path(location[len("file://"):])
        if path.parent != self.root:
            raise DataNotFound(f"Location {location!r} is not in this store.")
        return path

    async def add(self, image_id: str, data: AsyncIterable[bytes]) -> str:
        final = self.root / image_id
        part = self.root / f".{image_id}.{uuid.uuid4().hex}{_PART_SUFFIX}"
        # One thread does every operation on the file descriptor, in order: a write still
        # running when the caller is cancelled ends before the close, never after it.
        writer = ThreadPoolExecutor(1, thread_name_prefix="image-store-write")
        loop = asyncio.get_running_loop()
        try:
            fd = await loop.run_in_executor(
                writer, os.open, part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except BaseException:
            writer.shutdown(wait=False)
            raise
        writing: asyncio.Future[None] | None = None
        closing = False
        try:
            try:
                offset = 0
                async for chunk in data:
                    # One write in flight: this chunk goes to the file while the next arrives.
                    if writing is not None:
                        await writing
                    writing = loop.run_in_executor(writer, _append, fd, chunk, offset)
                    offset += len(chunk)
                if writing is not None:
                    await writing
                # The location must survive a crash once the caller reports the image active.
                await loop.run_in_executor(writer, os.fsync, fd)
                closing = True
                await loop.run_in_executor(writer, os.close, fd)
            finally:
                if writing is not None:
                    writing.cancel()  # a no-op once done; else the thread finishes it anyway
                if not closing:  # failed or cancelled: closed after any write still running
                    writer.submit(os.close, fd)
                writer.shutdown(wait=False)
            await asyncio.to_thread(_rename_durably, part, final)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            if isinstance(exc, OSError):
                raise StoreError(f"Could not write the image data: {exc.strerror}.") from exc
            raise
        return f"file://{final}"

    async def get(self, location: str, *, offset: int = 0,
                  length: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(location)
        try:
            fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise DataNotFound(f"No data at {location}.") from exc
        end = None if length is None else offset + length

        def read_at(position: int) -> asyncio.Future[bytes]:
            size = READ_CHUNK if end is None else min(READ_CHUNK, end - position)
            return asyncio.ensure_future(asyncio.to_thread(os.pread, fd, size, position))

        # One read ahead: the next chunk comes off the disk while the consumer sends this one.
        reading = read_at(offset) if end is None or end > offset else None
        try:
            while reading is not None:
                chunk = await reading
                offset += len(chunk)
                reading = read_at(offset) if chunk and (end is None or end > offset) else None
                if chunk:
                    yield chunk
        finally:
            if reading is not None:
                # The consumer stopped early; a read still running in its thread only fills a
                # buffer nobody takes.
                reading.cancel()
            os.close(fd)

    async def delete(self, location: str) -> None:
        path = self._path(location)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)
            # Else a crash could bring back the file of an image the API reported deleted.
            await asyncio.to_thread(_fsync_dir, self.root)

    async def adopt(self, other: Store, location: str, image_id: str) -> str | None:
        if not isinstance(other, FilesystemStore):
            return None
        source = other._path(location)
        final = self.root / image_id
        try:
            await asyncio.to_thread(_rename_durably, source, final)
        except OSError as exc:
            if exc.errno == errno.EXDEV:  # another filesystem: the caller copies instead
                return None
            if exc.errno == errno.ENOENT:
                raise DataNotFound(f"No data at {location}.") from exc
            raise StoreError(f"Could not move the staged data: {exc.strerror}.") from exc
        return f"file://{final}"

    def local_path(self, location: str) -> Path:
        return self._path(location)

    async def sweep(self, *, live: Container[str], min_age: float) -> None:
        """Delete the `.part` files that processes which died left behind."""
        removed = await asyncio.to_thread(_remove_partial_files, self.root, live, min_age)
        if removed:
            LOG.info("removed %d partial image files from %s", removed, self.root)

    def describe(self) -> dict[str, Any]:
        return {"data_dir": str(self.root), "chunk_size": READ_CHUNK, "thin_provisioning": False}


def _append(fd: int, chunk: bytes, offset: int) -> None:
    """Write all of `chunk` at the end of the file, which is `offset` bytes long."""
    view = memoryview(chunk)
    try:
        while view:
            # Writes of 1 MiB: on this machine (ext4) 4 MiB writes, each then DONTNEED, took
            # 0.2 to 1.0 s of system time per 256 MB in most runs, 1 MiB writes 0.1 s in most.
            written = os.write(fd, view[:WRITE_CHUNK])
            # Starts writeback of these (dirty, so kept cached) pages now, without waiting for
            # it, so that the closing fsync waits only for the last ones rather than for the
            # whole image.
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, offset, written, os.POSIX_FADV_DONTNEED)
            offset += written
            view = view[written:]
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFull("Image storage media is full.") from exc
        raise


def _remove_partial_files(root: Path, live: Container[str], min_age: float) -> int:
    """Partial files are `.<image id>.<random>.part`; returns how many were removed."""
    removed = 0
    too_young = time.time() - min_age
    for path in root.glob(f".*{_PART_SUFFIX}"):
        image_id = path.name[1:].split(".", 1)[0]
        try:
            if image_id in live or path.stat().st_mtime > too_young:
                continue
            path.unlink()
        except FileNotFoundError:  # finished or removed by its own process meanwhile
            continue
        removed += 1
    if removed:
        _fsync_dir(root)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rename_durably(source: Path, target: Path) -> None:
    """Rename, then fsync the directories, so that the new name survives a crash."""
    os.replace(source, target)
    _fsync_dir(target.parent)
    if source.parent != target.parent:
        _fsync_dir(source.parent)
