"""Guarded background tasks: named, crash-logged, cancelled at shutdown.

    tasks = TaskGroup("conductor")
    tasks.start(reconcile_forever(), name="reconcile")
    ...
    await tasks.aclose()

No module creates a bare `asyncio.create_task` for long-lived work; a crash in a
forgotten task would otherwise vanish silently.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Coroutine
from typing import Any

LOG = logging.getLogger(__name__)


def wake_first(waiters: collections.deque[asyncio.Future[None]]) -> bool:
    """Resolves the longest-waiting future not already done (cancelled or timed out), dropping
    those that are; False when none was waiting."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False


class TaskGroup:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self.owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            LOG.error("task %s crashed", task.get_name(), exc_info=exc)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def aclose(self, timeout: float = 10.0) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
