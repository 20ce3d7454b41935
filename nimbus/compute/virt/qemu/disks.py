"""A guest's root disk: a qcow2 overlay on the host's cached copy of its image.

The base stays untouched in the agent's image cache, shared by every guest of that image;
`qemu-img` also checks the image is what the image service says it is (a bad image fails here,
with qemu-img's reason, before any QEMU starts).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from nimbus.compute.virt.qemu.errors import BootFailed, QemuError

GIB = 1 << 30
QEMU_IMG_TIMEOUT = 120.0
# Glance disk_format -> QEMU's block driver name.
# Glance's `ami` is a raw disk whose kernel and ramdisk are images of their own.
FORMATS = {"raw": "raw", "ami": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi",
           "vhd": "vpc", "vhdx": "vhdx"}


async def qemu_img(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), QEMU_IMG_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise QemuError(f"qemu-img {args[0]} took over {QEMU_IMG_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        raise QemuError(err.decode(errors="replace").strip() or f"qemu-img {args[0]} failed")
    return out.decode()


async def image_info(path: Path, disk_format: str) -> dict[str, Any]:
    """qemu-img's view of a cached image, read as `disk_format` (BootFailed if it is not one)."""
    driver = FORMATS.get(disk_format)
    if driver is None:
        raise BootFailed(f"disk_format {disk_format!r} cannot boot a QEMU guest "
                         f"(supported: {', '.join(sorted(FORMATS))})")
    try:
        info: dict[str, Any] = json.loads(
            await qemu_img("info", "--output=json", "-f", driver, str(path)))
    except QemuError as exc:
        raise BootFailed(f"the image is not a valid {disk_format} disk: {exc}") from exc
    return info


async def create_overlay(base: Path, disk_format: str, overlay: Path, root_gb: int) -> None:
    """`overlay` backed by `base`, as large as the flavor's root disk (never below the image)."""
    info = await image_info(base, disk_format)
    size = max(int(info["virtual-size"]), root_gb * GIB)
    backing = await asyncio.to_thread(os.path.realpath, base)
    try:
        await qemu_img("create", "-q", "-f", "qcow2", "-b", backing,
                       "-F", FORMATS[disk_format], str(overlay), str(size))
    except QemuError as exc:
        raise BootFailed(f"cannot create the root disk on the image: {exc}") from exc
