"""What the image service needs from a place that keeps image bytes, and nothing more.

    store = FilesystemStore(Path("/var/lib/nimbus/images/file"))
    location = await store.add(image_id, chunks)      # atomic and durable: all of it or nothing
    async for chunk in store.get(location, offset=0, length=None): ...
    await store.delete(location)

A store knows nothing of HTTP, the database or checksums (the service computes those while the
bytes stream through it); it moves bytes with constant memory.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator, Container
from pathlib import Path
from typing import Any


class StoreError(Exception):
    """A store could not do what it was asked; `message` is safe to show a client."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class DataNotFound(StoreError):
    """The location holds no data (deleted underneath, or never written)."""


class StoreFull(StoreError):
    """The backing storage has no room left."""


class Store(abc.ABC):
    #: The id clients see in `/v2/info/stores` and in an image's `stores`.
    store_id: str

    @abc.abstractmethod
    async def add(self, image_id: str, data: AsyncIterable[bytes]) -> str:
        """Write every chunk of `data` and return the new location.

        The location appears only once all of `data` is written and durable (it survives a
        crash of the host from then on: the image service reports the image active next). On
        any failure, including cancellation or an exception raised by `data` itself, nothing is
        left behind and the exception propagates.
        """

    @abc.abstractmethod
    def get(self, location: str, *, offset: int = 0,
            length: int | None = None) -> AsyncIterator[bytes]:
        """Stream `length` bytes (all, if None) from `offset`; DataNotFound if absent."""

    @abc.abstractmethod
    async def delete(self, location: str) -> None:
        """Remove the data; idempotent (absent data is not an error)."""

    @abc.abstractmethod
    async def sweep(self, *, live: Container[str], min_age: float) -> None:
        """Remove what add() calls of processes that died left behind: partial data of images
        not in `live` (whose data another process may still be adding), and older than
        `min_age` seconds (an add() that began after `live` was read is not in it)."""

    def describe(self) -> dict[str, Any]:
        """Properties for `/v2/info/stores/detail`."""
        return {}


class SupportsLocalPath(abc.ABC):
    """A store whose data are local files, which tools such as qemu-img can read."""

    @abc.abstractmethod
    def local_path(self, location: str) -> Path:
        """The file behind `location`."""


class SupportsAdopt(abc.ABC):
    """A store that can take over data another store of the same kind holds, without copying."""

    @abc.abstractmethod
    async def adopt(self, other: Store, location: str, image_id: str) -> str | None:
        """Move `location` of `other` into this store; None if it cannot, and nothing moved."""
