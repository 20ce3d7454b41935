"""A gzip'd cpio archive in the kernel's `newc` format, written without root.

Built here rather than with cpio(1) so that /dev/console can be a character device node: the
kernel opens it for PID 1's stdio before init runs, and mknod needs root on the host.
"""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One archive member: a directory, a file (with its bytes), a symlink or a device node."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def directory(path: str) -> Entry:
    return Entry(path, stat.S_IFDIR | 0o755)


def file(path: str, data: bytes, *, executable: bool = False) -> Entry:
    return Entry(path, stat.S_IFREG | (0o755 if executable else 0o644), data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def char_device(path: str, major: int, minor: int) -> Entry:
    return Entry(path, stat.S_IFCHR | 0o600, rdev=(major, minor))


def write_gzip(entries: list[Entry], target: Path) -> None:
    archive = bytearray()
    for inode, entry in enumerate(entries, start=1):
        archive += _member(inode, entry.path, entry.mode, entry.data, entry.rdev)
    archive += _member(0, "TRAILER!!!", 0, b"", (0, 0))
    # Fixed mtime: the same inputs give the same bytes. Level 6 is zlib's speed/size middle.
    target.write_bytes(gzip.compress(bytes(archive), compresslevel=6, mtime=0))


def _member(inode: int, path: str, mode: int, data: bytes, rdev: tuple[int, int]) -> bytes:
    name = path.lstrip("/").encode() + b"\0"
    fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name), 0)
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    return _pad(header + name) + _pad(data)


def _pad(block: bytes) -> bytes:
    return block + b"\0" * (-len(block) % 4)
