"""Image bytes as files in one directory: written to a hidden temporary file, then renamed."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
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

READ_CHUNK = 1 << 20
_PART_SUFFIX = ".part"


class FilesystemStore(Store, SupportsAdopt, SupportsLocalPath):
    """Locations are `file://<absolute path>`; files are named by image id.

    Writes go to `.<image_id>.<random>.part` in the same directory and are renamed into place
    once complete, so a reader never sees half an image and a crash leaves only `.part` files,
    which `remove_partial_files()` sweeps at start-up.
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
        fd = await asyncio.to_thread(os.open, part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                async for chunk in data:
                    await asyncio.to_thread(_write_all, fd, chunk)
            finally:
                os.close(fd)
            await asyncio.to_thread(os.replace, part, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise
        return f"file://{final}"

    async def get(self, location: str, *, offset: int = 0,
                  length: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(location)
        try:
            fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise DataNotFound(f"No data at {location}.") from exc
        try:
            remaining = length
            position = offset
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(os.pread, fd, size, position)
                if not chunk:
                    break
                position += len(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def delete(self, location: str) -> None:
        path = self._path(location)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    async def adopt(self, other: Store, location: str, image_id: str) -> str | None:
        if not isinstance(other, FilesystemStore):
            return None
        source = other._path(location)
        final = self.root / image_id
        try:
            await asyncio.to_thread(os.rename, source, final)
        except OSError as exc:
            if exc.errno == errno.EXDEV:  # another filesystem: the caller copies instead
                return None
            if exc.errno == errno.ENOENT:
                raise DataNotFound(f"No data at {location}.") from exc
            raise StoreError(f"Could not move the staged data: {exc.strerror}.") from exc
        return f"file://{final}"

    def local_path(self, location: str) -> Path:
        return self._path(location)

    async def sweep(self) -> None:
        """Delete the `.part` files a previous process left behind."""
        removed = 0
        for path in self.root.glob(f".*{_PART_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(path.unlink)
                removed += 1
        if removed:
            LOG.info("removed %d partial image files from %s", removed, self.root)

    def describe(self) -> dict[str, Any]:
        return {"data_dir": str(self.root), "chunk_size": READ_CHUNK, "thin_provisioning": False}


def _write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    try:
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFull("Image storage media is full.") from exc
        raise
