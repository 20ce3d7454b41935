"""What network's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.config import NetworkSettings, Settings
from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer


@dataclasses.dataclass
class NetworkDeps:
    settings: Settings
    db: db.SessionFactory
    policy: Enforcer

    @property
    def config(self) -> NetworkSettings:
        return self.settings.network

    def authorize(self, ctx: RequestContext, rule: str, target: Mapping[str, Any]) -> None:
        self.policy.authorize(rule, ctx, target)

    def allowed(self, ctx: RequestContext, rule: str, target: Mapping[str, Any]) -> bool:
        return self.policy.allowed(rule, ctx, target)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.db) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session


async def get_deps(request: Request) -> NetworkDeps:
    deps = request.app.state.network
    assert isinstance(deps, NetworkDeps)
    return deps


Deps = Annotated[NetworkDeps, Depends(get_deps)]
