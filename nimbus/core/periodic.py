"""Periodic tasks: a coroutine function run every N seconds until stopped.

A run that raises is logged and the schedule goes on; runs never overlap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from nimbus.core.tasks import TaskGroup

LOG = logging.getLogger(__name__)

PeriodicFn = Callable[[], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Periodic:
    name: str
    fn: PeriodicFn
    interval: float
    run_immediately: bool = False


async def run_periodic(job: Periodic) -> None:
    if not job.run_immediately:
        await asyncio.sleep(job.interval)
    while True:
        try:
            await job.fn()
        except asyncio.CancelledError:
            raise
        except Exception:
            LOG.exception("periodic task %s failed", job.name)
        await asyncio.sleep(job.interval)


def start_periodic(tasks: TaskGroup, jobs: list[Periodic]) -> None:
    for job in jobs:
        tasks.start(run_periodic(job), name=f"periodic:{job.name}")
