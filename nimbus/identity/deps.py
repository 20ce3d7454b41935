"""What identity's routers and service functions work with, built once by the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.config import Settings
from nimbus.core.policy import Enforcer
from nimbus.core.tokens import KeyRepository


@dataclasses.dataclass
class IdentityDeps:
    settings: Settings
    db: db.SessionFactory
    keys: KeyRepository
    policy: Enforcer
    # Bumped after every committed write; validation caches hold only for one generation,
    # so a disabled user or a removed role fails validation at once.
    generation: int = 0
    # Per-generation caches owned by service modules (validated tokens, the catalog).
    caches: dict[str, Any] = dataclasses.field(default_factory=dict)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction for a write; caches are invalidated once it commits."""
        try:
            async with db.transaction(self.db) as session:
                yield session
        finally:
            self.generation += 1

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db() as session:
            yield session


async def get_deps(request: Request) -> IdentityDeps:
    deps = request.app.state.identity
    assert isinstance(deps, IdentityDeps)
    return deps


Deps = Annotated[IdentityDeps, Depends(get_deps)]
