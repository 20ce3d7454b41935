"""What volume hosts report about their backends: scheduler pools (get_pools) and backend
capabilities, for operators."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select

from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import BackendRow


@dataclasses.dataclass(frozen=True)
class Pool:
    host: str
    backend: str
    total_capacity_gb: int
    free_capacity_gb: int
    capabilities: dict[str, Any]
    updated_at: dt.datetime

    @property
    def name(self) -> str:
        """Cinder's `host@backend#pool`; a file backend is one pool named after it."""
        return f"{self.host}@{self.backend}#{self.backend}"


async def list_pools(deps: VolumeDeps, ctx: RequestContext) -> list[Pool]:
    deps.policy.authorize("scheduler_extension:scheduler_stats:get_pools", ctx)
    async with deps.read() as session:
        rows = (await session.execute(select(BackendRow).order_by(BackendRow.host))).scalars()
        return [Pool(r.host, r.backend, r.total_capacity_gb, r.free_capacity_gb,
                     dict(r.capabilities or {}), r.updated_at) for r in rows]


async def get_capabilities(deps: VolumeDeps, ctx: RequestContext, host: str) -> Pool:
    """By `host` or `host@backend` (Cinder names backends so)."""
    deps.policy.authorize("volume_extension:capabilities", ctx)
    for pool in await list_pools(deps, ctx):
        if host in (pool.host, f"{pool.host}@{pool.backend}", pool.name):
            return pool
    raise errors.HostNotFound(host=host)
