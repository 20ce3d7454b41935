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
from nimbus.core.clients.network import NetworkClient
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.clients.volume import VolumeClient
from nimbus.core.config import Settings
from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer


@dataclasses.dataclass
class ComputeDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer
    images: ImageClient
    network: NetworkClient
    volumes: VolumeClient
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

    def placement_for(self, ctx: RequestContext) -> PlacementClient:
        """Placement with the caller's token, over the client that reaches the other services.
        Only admin operations use it (deleting a compute service), which placement admits."""

        async def token() -> str:
            return ctx.auth_token or ""

        return PlacementClient(self.images.http, f"{self.settings.base_url}/placement", token)


async def get_deps(request: Request) -> ComputeDeps:
    deps = request.app.state.compute
    assert isinstance(deps, ComputeDeps)
    return deps


Deps = Annotated[ComputeDeps, Depends(get_deps)]
