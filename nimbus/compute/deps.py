"""What compute's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.rpcapi import ComputeAgentAPI, ConductorAPI
from nimbus.core import db
from nimbus.core.clients.image import ImageClient
from nimbus.core.config import Settings
from nimbus.core.policy import Enforcer


@dataclasses.dataclass
class ComputeDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer
    images: ImageClient
    conductor: ConductorAPI
    agents: ComputeAgentAPI

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.db) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session


async def get_deps(request: Request) -> ComputeDeps:
    deps = request.app.state.compute
    assert isinstance(deps, ComputeDeps)
    return deps


Deps = Annotated[ComputeDeps, Depends(get_deps)]
