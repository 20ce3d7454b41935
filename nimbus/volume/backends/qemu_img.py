"""qemu-img as the file backend runs it: one subprocess per step, bounded in time, its error
output turned into BackendFailed."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path

from nimbus.volume.backends.base import BackendFailed

LOG = logging.getLogger(__name__)

TIMEOUT = 600.0
GIB = 1 << 30


def binary() -> str:
    found = shutil.which("qemu-img")
    if found is None:
        raise BackendFailed("qemu-img is not installed (Debian: qemu-utils)")
    return found


async def run(*args: str, timeout: float = TIMEOUT) -> bytes:
    proc = await asyncio.create_subprocess_exec(binary(), *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:  # a timeout or a cancellation: never leave the child running
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        LOG.info("qemu-img %s failed: %s", args[0], message)
        raise BackendFailed(f"qemu-img {args[0]}: {message[-1] if message else proc.returncode}")
    return out


async def create(path: Path, size_gb: int) -> None:
    await run("create", "-q", "-f", "qcow2", str(path), f"{size_gb}G")


async def virtual_size(path: Path, fmt: str) -> int:
    out = await run("info", "--output=json", "-f", fmt, str(path))
    try:
        return int(json.loads(out)["virtual-size"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackendFailed(f"qemu-img info gave no virtual size for {path.name}") from exc


async def convert(source: Path, source_format: str, dest: Path, dest_format: str) -> None:
    await run("convert", "-q", "-f", source_format, "-O", dest_format, str(source), str(dest))


async def resize(path: Path, size_gb: int) -> None:
    await run("resize", "-q", "-f", "qcow2", str(path), f"{size_gb}G")
