"""The filesystem store on its own: whole files or nothing, and no file descriptor left open."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.image.store import FilesystemStore
from nimbus.image.store.filesystem import READ_CHUNK


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


async def fds_after_writer(expected: set[str]) -> set[str]:
    """The open descriptors once the store's writer thread has closed its file (it runs on
    after a failed or cancelled add, so give it a few seconds on a busy machine)."""
    for _ in range(100):
        if open_fds() == expected:
            break
        await asyncio.sleep(0.05)
    return open_fds()


def files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


async def blocks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_add_then_get_returns_every_byte_in_order(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    payload = os.urandom(2 * READ_CHUNK + 12345)
    parts = [payload[i:i + 1_000_000] for i in range(0, len(payload), 1_000_000)]

    location = await store.add("image-1", blocks(*parts))

    assert files(tmp_path) == ["image-1"]
    assert b"".join([chunk async for chunk in store.get(location)]) == payload


async def test_get_range_across_chunks(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    payload = os.urandom(3 * READ_CHUNK)
    location = await store.add("image-1", blocks(payload))
    offset, length = READ_CHUNK - 10, READ_CHUNK + 20

    got = b"".join([chunk async for chunk in store.get(location, offset=offset, length=length)])

    assert got == payload[offset:offset + length]


async def test_add_whose_source_fails_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    before = open_fds()

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(READ_CHUNK)
        yield os.urandom(READ_CHUNK)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        await store.add("image-1", failing())

    assert files(tmp_path) == []
    assert await fds_after_writer(before) == before


async def test_cancelled_add_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    before = open_fds()
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            started.set()
            yield os.urandom(1 << 20)
            await asyncio.sleep(0)

    adding = asyncio.create_task(store.add("image-1", endless()))
    await started.wait()
    await asyncio.sleep(0.05)
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding

    assert files(tmp_path) == []
    assert await fds_after_writer(before) == before


async def test_reader_that_stops_early_closes_the_file(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    location = await store.add("image-1", blocks(os.urandom(3 * READ_CHUNK)))
    before = open_fds()

    reader = store.get(location)
    first = await anext(reader)
    await reader.aclose()

    assert len(first) == READ_CHUNK
    assert open_fds() == before


async def test_add_replaces_existing_data_whole(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    await store.add("image-1", blocks(b"old"))

    location = await store.add("image-1", blocks(b"new ", b"data"))

    assert files(tmp_path) == ["image-1"]
    assert b"".join([chunk async for chunk in store.get(location)]) == b"new data"


async def test_delete_is_idempotent(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    location = await store.add("image-1", blocks(b"x"))

    await store.delete(location)
    await store.delete(location)

    assert files(tmp_path) == []


async def test_sweep_removes_only_old_partial_files_of_images_not_live(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    await store.add("done", blocks(b"whole"))
    an_hour_ago = time.time() - 3600
    for name in (".dead.1.part", ".live.2.part"):
        (tmp_path / name).write_bytes(b"half")
        os.utime(tmp_path / name, (an_hour_ago, an_hour_ago))
    (tmp_path / ".young.3.part").write_bytes(b"half")  # an add() begun a moment ago

    await store.sweep(live={"live"}, min_age=60)

    assert files(tmp_path) == [".live.2.part", ".young.3.part", "done"]
