"""What image's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.config import ImageSettings, Settings
from nimbus.core.policy import Enforcer
from nimbus.image.store import Store


@dataclasses.dataclass
class ImageDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer
    store: Store
    # Where glance-direct stages data before the import moves it into `store`.
    staging: Store
    # `qemu-img`, when installed, tells the virtual size of formats other than raw.
    qemu_img: str | None = None
    # Run once, before the first request this process serves (see `started`).
    on_start: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    _started: bool = False
    _start_lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)

    @property
    def config(self) -> ImageSettings:
        return self.settings.image

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.db) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session

    async def started(self) -> None:
        """Runs the start-up hooks once (recovering what a previous process left half done).

        Lazily, because the all-in-one server runs without ASGI lifespan events.
        """
        if self._started:
            return
        async with self._start_lock:
            if not self._started:
                for hook in self.on_start:
                    await hook()
                self._started = True


async def get_deps(request: Request) -> ImageDeps:
    deps = request.app.state.image
    assert isinstance(deps, ImageDeps)
    await deps.started()
    return deps


Deps = Annotated[ImageDeps, Depends(get_deps)]
