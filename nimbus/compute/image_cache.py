"""A host's image cache: each image downloaded once through the image API, checksum verified."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

from nimbus.compute.virt.driver import GuestSpec
from nimbus.core.clients.image import Image, ImageClient

# Nova's libvirt default for guests booted from a kernel image, when the image has no
# `os_command_line`: the root disk, and the console on the serial port the log reads.
DEFAULT_KERNEL_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0"


@dataclasses.dataclass(frozen=True)
class BootFiles:
    """What a guest boots from, as GuestSpec fields: the image's data and, for a machine
    image (AMI), the kernel and ramdisk images its `kernel_id` and `ramdisk_id` name."""

    image_path: Path | None = None
    image_format: str = "raw"
    kernel_path: Path | None = None
    ramdisk_path: Path | None = None
    kernel_cmdline: str = ""

    def apply(self, guest: GuestSpec) -> GuestSpec:
        """`guest` booting from these files."""
        return dataclasses.replace(guest, **dataclasses.asdict(self))


NO_IMAGE = BootFiles()  # a server booted from a volume


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

    async def boot_files(self, image_id: str | None) -> BootFiles:
        """The files a guest of `image_id` boots from, each fetched into this cache."""
        if not image_id:
            return NO_IMAGE
        path, image = await self.fetch(image_id)
        kernel_id, ramdisk_id = (image.properties.get(k) for k in ("kernel_id", "ramdisk_id"))
        if not kernel_id:
            return BootFiles(image_path=path, image_format=image.disk_format or "raw")
        return BootFiles(
            image_path=path, image_format=image.disk_format or "raw",
            kernel_path=(await self.fetch(kernel_id))[0],
            ramdisk_path=(await self.fetch(ramdisk_id))[0] if ramdisk_id else None,
            kernel_cmdline=image.properties.get("os_command_line") or DEFAULT_KERNEL_CMDLINE)
