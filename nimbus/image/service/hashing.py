"""Checksums computed while image data streams through, at constant memory.

The stream is regrouped into blocks of BLOCK bytes. Each digest (md5, sha512) has its own
worker thread, which takes blocks in order (hashlib releases the GIL), so hashing runs next to
the event loop receiving the following blocks and the store writing them. The loop waits only
when more than IN_FLIGHT blocks are still being hashed, which bounds memory to a few blocks
whatever the image size.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BLOCK = 4 << 20
IN_FLIGHT = 2


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
    # One single-thread pool per digest keeps each digest's updates in order.
    pools = [ThreadPoolExecutor(1, thread_name_prefix="image-md5"),
             ThreadPoolExecutor(1, thread_name_prefix="image-sha512")]
    updates = [digest.md5.update, digest.sha512.update]
    pending: deque[asyncio.Future[Any]] = deque()
    loop = asyncio.get_running_loop()

    async def hash_block(block: bytes) -> None:
        for pool, update in zip(pools, updates, strict=True):
            pending.append(loop.run_in_executor(pool, update, block))
        while len(pending) > IN_FLIGHT * len(pools):
            await pending.popleft()

    parts: list[bytes] = []
    buffered = 0
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
                await hash_block(block)
                yield block
        if parts:
            block = b"".join(parts)
            parts.clear()
            await hash_block(block)
            yield block
        while pending:
            await pending.popleft()
    finally:
        # On failure the workers finish the block in hand; queued ones are dropped.
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
