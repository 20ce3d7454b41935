"""What block storage's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.clients.image import ImageClient
from nimbus.core.config import Settings
from nimbus.core.policy import Enforcer
from nimbus.volume.rpcapi import SchedulerAPI, VolumeAPI


@dataclasses.dataclass
class VolumeDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer
    images: ImageClient
    scheduler: SchedulerAPI
    volumes: VolumeAPI

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.db) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session


async def get_deps(request: Request) -> VolumeDeps:
    deps = request.app.state.volume
    assert isinstance(deps, VolumeDeps)
    return deps


Deps = Annotated[VolumeDeps, Depends(get_deps)]
