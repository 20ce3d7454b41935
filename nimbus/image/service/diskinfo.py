"""An image's virtual size: `qemu-img info` where qemu-utils is installed, else raw's size."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

LOG = logging.getLogger(__name__)

# Glance's disk_format names as qemu-img calls them. Naming the format (never probing it)
# keeps a raw image that looks like qcow2 from being read as one.
QEMU_FORMATS = {"raw": "raw", "iso": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi",
                "vhd": "vpc", "vhdx": "vhdx", "ploop": "parallels"}
TIMEOUT = 30.0


async def virtual_size(qemu_img: str | None, path: Path | None, disk_format: str,
                       size: int) -> int | None:
    """None when it cannot be known (no qemu-img, a format it does not read, or bad data)."""
    if disk_format in ("raw", "iso"):
        return size
    fmt = QEMU_FORMATS.get(disk_format)
    if qemu_img is None or path is None or fmt is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            qemu_img, "info", "--output=json", "-f", fmt, str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        LOG.warning("cannot run %s: %s", qemu_img, exc)
        return None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        LOG.warning("qemu-img info timed out on %s", path)
        return None
    if proc.returncode != 0:
        LOG.info("qemu-img info -f %s failed on %s: %s", fmt, path, err.decode(errors="replace"))
        return None
    try:
        value = json.loads(out)["virtual-size"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None
