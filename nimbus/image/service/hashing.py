"""Checksums computed while image data streams through, at constant memory.

The stream is regrouped into blocks of BLOCK bytes. md5 and sha512 of block N run in worker
threads (hashlib releases the GIL) while the store writes block N and the event loop receives
block N+1, so hashing costs little wall time on more than one core. At most about three
blocks are alive at once, whatever the image size.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

BLOCK = 4 << 20


class TooMuchData(Exception):
    """The stream went past the number of bytes it was allowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit} bytes")


class Digest:
    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.size = 0

    @property
    def checksum(self) -> str:
        return self.md5.hexdigest()

    @property
    def os_hash_value(self) -> str:
        return self.sha512.hexdigest()


async def hashed_blocks(source: AsyncIterable[bytes], digest: Digest, *,
                        limit: int) -> AsyncIterator[bytes]:
    """Yield `source` in blocks, updating `digest`; TooMuchData past `limit` bytes.

    When the generator finishes, `digest` covers every byte yielded.
    """
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[Any]] = []
    parts: list[bytes] = []
    buffered = 0

    async def emit(block: bytes) -> None:
        # One block hashing at a time keeps each digest's updates in order.
        await asyncio.gather(*pending)
        pending[:] = [loop.run_in_executor(None, digest.md5.update, block),
                      loop.run_in_executor(None, digest.sha512.update, block)]

    try:
        async for chunk in source:
            if not chunk:
                continue
            digest.size += len(chunk)
            if digest.size > limit:
                raise TooMuchData(limit)
            parts.append(chunk)
            buffered += len(chunk)
            if buffered >= BLOCK:
                block = b"".join(parts)
                parts.clear()
                buffered = 0
                await emit(block)
                yield block
        if parts:
            block = b"".join(parts)
            parts.clear()
            await emit(block)
            yield block
        await asyncio.gather(*pending)
    finally:
        # On failure, let running hash threads finish with their block; nothing awaits them.
        pending.clear()
