"""Compute quotas: limits from config and per-project overrides, usage counted from instances.

Usage is counted, not tracked: a create checks before writing and counts again after, so
that two racing creates cannot both pass a limit (the loser rolls back its rows).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.models import InstanceRow, KeypairRow, QuotaRow, ServerGroupRow
from nimbus.core.config import ComputeQuotaSettings

RESOURCES = ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
             "server_group_members")


@dataclasses.dataclass(frozen=True)
class Usage:
    instances: int
    cores: int
    ram: int


async def limits(session: AsyncSession, defaults: ComputeQuotaSettings,
                 project_id: str) -> dict[str, int]:
    found = {r: getattr(defaults, r) for r in RESOURCES}
    rows = await session.execute(select(QuotaRow).where(QuotaRow.project_id == project_id))
    for row in rows.scalars():
        found[row.resource] = row.hard_limit
    return found


async def instance_usage(session: AsyncSession, project_id: str) -> Usage:
    row = (await session.execute(select(
        func.count(), func.coalesce(func.sum(InstanceRow.vcpus), 0),
        func.coalesce(func.sum(InstanceRow.memory_mb), 0)).where(
        InstanceRow.project_id == project_id, InstanceRow.deleted_at.is_(None)))).one()
    return Usage(int(row[0]), int(row[1]), int(row[2]))


async def count_keypairs(session: AsyncSession, user_id: str) -> int:
    return int((await session.execute(select(func.count()).where(
        KeypairRow.user_id == user_id))).scalar_one())


async def count_server_groups(session: AsyncSession, project_id: str) -> int:
    return int((await session.execute(select(func.count()).where(
        ServerGroupRow.project_id == project_id))).scalar_one())


def instances_that_fit(limit: dict[str, int], used: Usage, vcpus: int, ram: int,
                       wanted: int) -> tuple[int, str | None]:
    """How many of `wanted` instances fit (Nova builds as many as fit between min and max),
    and the first resource that stops more, if any."""
    room = wanted
    stopper: str | None = None
    for resource, in_use, each in (("instances", used.instances, 1), ("cores", used.cores, vcpus),
                                   ("ram", used.ram, ram)):
        allowed = limit[resource]
        if allowed < 0 or each == 0:
            continue
        fits = max(0, (allowed - in_use) // each)
        if fits < room:
            room, stopper = fits, resource
    return room, stopper


def exceeded(limit: dict[str, int], used: Usage, resource: str, vcpus: int, ram: int,
             count: int) -> errors.QuotaExceeded:
    each = {"instances": 1, "cores": vcpus, "ram": ram}[resource]
    in_use = {"instances": used.instances, "cores": used.cores, "ram": used.ram}[resource]
    return errors.QuotaExceeded(resources=resource, requested=each * count, used=in_use,
                                allowed=limit[resource])
