"""What placement's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.config import Settings
from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer


@dataclasses.dataclass
class PlacementDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer
    # How often an allocation write is replayed after losing a provider-generation race
    # before the caller sees 409 placement.concurrent_update (Placement's default is 10).
    allocation_conflict_retries: int = 10

    def authorize(self, ctx: RequestContext, rule: str) -> None:
        self.policy.authorize(f"placement:{rule}", ctx, {"project_id": ctx.project_id})

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.db) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session


async def get_deps(request: Request) -> PlacementDeps:
    deps = request.app.state.placement
    assert isinstance(deps, PlacementDeps)
    return deps


Deps = Annotated[PlacementDeps, Depends(get_deps)]
