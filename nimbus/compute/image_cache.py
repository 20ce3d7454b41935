"""A host's image cache: each image downloaded once through the image API, checksum verified."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from nimbus.core.clients.image import Image, ImageClient


class ImageCache:
    def __init__(self, directory: Path, images: ImageClient,
                 token: Callable[[], Awaitable[str]]) -> None:
        self.directory = directory
        self.images = images
        self.token = token
        self._locks: dict[str, asyncio.Lock] = {}
        # Image data never changes once active, so what we fetched stays true.
        self._known: dict[str, Image] = {}

    async def fetch(self, image_id: str) -> tuple[Path, Image]:
        """The local path of the image's data, downloading it first if this host lacks it.

        Concurrent builds of one image share one download; a failed download leaves nothing.
        """
        path = self.directory / image_id
        known = self._known.get(image_id)
        if known is not None and path.exists():
            return path, known
        self.directory.mkdir(parents=True, exist_ok=True)
        token = await self.token()
        image = await self.images.get_image(token, image_id)
        lock = self._locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if not path.exists():
                await self.images.download(token, image, path)
        self._known[image_id] = image
        return path, image
