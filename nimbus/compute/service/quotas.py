"""Compute quotas: limits from config and per-project overrides, usage counted from instances.

Usage is counted, not tracked: a create checks before writing and counts again after, so
that two racing creates cannot both pass a limit (the loser rolls back its rows).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.models import (
    InstanceRow,
    KeypairRow,
    QuotaRow,
    ServerGroupMemberRow,
    ServerGroupRow,
)
from nimbus.core.config import ComputeQuotaSettings

RESOURCES = ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
             "server_group_members")


@dataclasses.dataclass(frozen=True)
class Usage:
    instances: int
    cores: int
    ram: int


# Read at every boot: built once, as building a statement costs more than running it.
_LIMITS_OF = select(QuotaRow).where(QuotaRow.project_id == bindparam("project_id"))


async def limits(session: AsyncSession, defaults: ComputeQuotaSettings,
                 project_id: str) -> dict[str, int]:
    found = {r: getattr(defaults, r) for r in RESOURCES}
    rows = await session.execute(_LIMITS_OF, {"project_id": project_id})
    for row in rows.scalars():
        found[row.resource] = row.hard_limit
    return found


COUNTED = ("instances", "cores", "ram")
NOTHING_COUNTED = Usage(0, 0, 0)


def unlimited(limit: dict[str, int]) -> bool:
    """No limit on instances, cores or ram: their usage needs no counting."""
    return all(limit[r] < 0 for r in COUNTED)


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


# Nova's absolute resources, kept so that older microversions answer in full: Nova has
# configuration for the personality ones and -1 for the nova-network ones.
LEGACY_DEFAULTS = {"injected_files": 5, "injected_file_content_bytes": 10240,
                   "injected_file_path_bytes": 255, "fixed_ips": -1, "floating_ips": -1,
                   "security_groups": -1, "security_group_rules": -1}
ALL_RESOURCES = RESOURCES + tuple(LEGACY_DEFAULTS)
# What microversions stopped showing (and taking): network proxies at 2.36, personality at 2.57.
_NETWORK = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
_PERSONALITY = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")


def hidden_at(version: tuple[int, int]) -> frozenset[str]:
    if version >= (2, 57):
        return frozenset(_NETWORK + _PERSONALITY)
    if version >= (2, 36):
        return frozenset(_NETWORK)
    return frozenset()


def defaults(settings: ComputeQuotaSettings) -> dict[str, int]:
    return {**{r: getattr(settings, r) for r in RESOURCES}, **LEGACY_DEFAULTS}


async def all_limits(session: AsyncSession, settings: ComputeQuotaSettings,
                     project_id: str) -> dict[str, int]:
    """Every resource's limit for a project, overrides over defaults."""
    found = defaults(settings)
    rows = await session.execute(select(QuotaRow).where(QuotaRow.project_id == project_id))
    for row in rows.scalars():
        if row.resource in found:
            found[row.resource] = row.hard_limit
    return found


async def in_use(session: AsyncSession, project_id: str) -> dict[str, int]:
    """Usage as Nova reports it for a project: key pairs and group members are counted per
    user and per group, so a project shows 0 for them; absolute resources have no usage."""
    used = await instance_usage(session, project_id)
    counted = {"instances": used.instances, "cores": used.cores, "ram": used.ram,
               "server_groups": await count_server_groups(session, project_id)}
    return {r: counted.get(r, 0) for r in ALL_RESOURCES}


async def count_group_members(session: AsyncSession, group_id: int, user_id: str) -> int:
    """A group's live members owned by `user_id` (Nova counts server_group_members per user)."""
    return int((await session.execute(
        select(func.count()).select_from(ServerGroupMemberRow).join(
            InstanceRow, InstanceRow.uuid == ServerGroupMemberRow.instance_uuid).where(
            ServerGroupMemberRow.group_id == group_id, InstanceRow.user_id == user_id,
            InstanceRow.deleted_at.is_(None)))).scalar_one())


async def group_members_over(session: AsyncSession, limit: dict[str, int], group_id: int,
                             user_id: str, adding: int) -> bool:
    """Whether `adding` more of the user's servers would pass the server_group_members quota."""
    allowed = limit["server_group_members"]
    return allowed >= 0 and await count_group_members(session, group_id, user_id) + adding > allowed
