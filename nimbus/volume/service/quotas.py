"""Per-project quotas (os-quota-sets), usage counted from the volume and snapshot rows, and the
checks create, extend and snapshot make before they write (Cinder's 413s)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import QuotaRow, SnapshotRow, VolumeRow, VolumeTypeRow

BASE_RESOURCES = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups",
                  "per_volume_gigabytes")
PER_TYPE = ("volumes", "gigabytes", "snapshots")


@dataclasses.dataclass(frozen=True)
class Usage:
    volumes: int = 0
    snapshots: int = 0
    gigabytes: int = 0


def defaults(deps: VolumeDeps) -> dict[str, int]:
    q = deps.settings.volume.quotas
    return {"volumes": q.volumes, "snapshots": q.snapshots, "gigabytes": q.gigabytes,
            "backups": q.backups, "backup_gigabytes": q.backup_gigabytes, "groups": q.groups,
            "per_volume_gigabytes": q.per_volume_gigabytes}


async def type_names(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(VolumeTypeRow.name).order_by(
        VolumeTypeRow.name))).scalars())


async def default_limits(deps: VolumeDeps, session: AsyncSession) -> dict[str, int]:
    """Every resource Cinder shows, per-type ones (unlimited by default) included."""
    found = defaults(deps)
    for name in await type_names(session):
        for resource in PER_TYPE:
            found[f"{resource}_{name}"] = -1
    return found


async def limits_of(deps: VolumeDeps, session: AsyncSession, project_id: str) -> dict[str, int]:
    found = await default_limits(deps, session)
    for row in (await session.execute(select(QuotaRow).where(
            QuotaRow.project_id == project_id))).scalars():
        if row.resource in found:
            found[row.resource] = row.hard_limit
    return found


async def usage_of(session: AsyncSession, project_id: str,
                   type_id: str | None = None) -> Usage:
    """What a project holds (of one volume type); gigabytes count snapshots too, as Cinder's."""
    volumes = select(func.count(), func.coalesce(func.sum(VolumeRow.size), 0)).where(
        VolumeRow.project_id == project_id)
    snapshots = select(func.count(), func.coalesce(func.sum(SnapshotRow.size), 0)).where(
        SnapshotRow.project_id == project_id)
    if type_id is not None:
        volumes = volumes.where(VolumeRow.volume_type_id == type_id)
        snapshots = snapshots.where(SnapshotRow.volume_type_id == type_id)
    v_count, v_gb = (await session.execute(volumes)).one()
    s_count, s_gb = (await session.execute(snapshots)).one()
    return Usage(volumes=int(v_count), snapshots=int(s_count), gigabytes=int(v_gb) + int(s_gb))


async def usage_by_resource(session: AsyncSession, project_id: str) -> dict[str, int]:
    total = await usage_of(session, project_id)
    found = {"volumes": total.volumes, "snapshots": total.snapshots,
             "gigabytes": total.gigabytes}
    for type_id, name in (await session.execute(select(VolumeTypeRow.id,
                                                       VolumeTypeRow.name))):
        of_type = await usage_of(session, project_id, type_id)
        found.update({f"volumes_{name}": of_type.volumes, f"snapshots_{name}": of_type.snapshots,
                      f"gigabytes_{name}": of_type.gigabytes})
    return found


async def check(deps: VolumeDeps, session: AsyncSession, project_id: str, type_row: VolumeTypeRow,
                *, volumes: int = 0, snapshots: int = 0, gigabytes: int = 0,
                volume_size: int | None = None) -> None:
    """Raise the 413 Cinder raises when adding these amounts would pass a limit."""
    limits = await limits_of(deps, session, project_id)
    per_volume = limits["per_volume_gigabytes"]
    if volume_size is not None and 0 <= per_volume < volume_size:
        raise errors.PerVolumeSizeExceeded(size=volume_size, limit=per_volume)
    for suffix, usage in (("", await usage_of(session, project_id)),
                          (f"_{type_row.name}", await usage_of(session, project_id, type_row.id))):
        _check_one(limits, f"volumes{suffix}", usage.volumes, volumes)
        _check_one(limits, f"snapshots{suffix}", usage.snapshots, snapshots)
        allowed = limits.get(f"gigabytes{suffix}", -1)
        if gigabytes and 0 <= allowed < usage.gigabytes + gigabytes:
            raise errors.QuotaExceeded(resource=f"gigabytes{suffix}", requested=gigabytes,
                                       quota=allowed, consumed=usage.gigabytes)


def _check_one(limits: dict[str, int], name: str, used: int, wanted: int) -> None:
    allowed = limits.get(name, -1)
    if wanted and 0 <= allowed < used + wanted:
        resource = "volumes" if name.startswith("volumes") else "snapshots"
        raise errors.CountExceeded(resource=resource, allowed=allowed, name=name)


async def show(deps: VolumeDeps, ctx: RequestContext, project_id: str,
               usage: bool) -> dict[str, object]:
    deps.policy.authorize("volume_extension:quotas:show", ctx, {"project_id": project_id})
    async with deps.read() as session:
        limits = await limits_of(deps, session, project_id)
        if not usage:
            return dict(limits)
        used = await usage_by_resource(session, project_id)
    return {k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0} for k, v in limits.items()}


async def show_defaults(deps: VolumeDeps, ctx: RequestContext) -> dict[str, int]:
    async with deps.read() as session:
        return await default_limits(deps, session)


async def update(deps: VolumeDeps, ctx: RequestContext, project_id: str,
                 wanted: dict[str, int]) -> dict[str, int]:
    deps.policy.authorize("volume_extension:quotas:update", ctx, {"project_id": project_id})
    async with deps.write() as session:
        known = await default_limits(deps, session)
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise errors.InvalidInput(reason=f"Bad key(s) in quota set: {', '.join(unknown)}")
        used = await usage_by_resource(session, project_id)
        for resource, limit in wanted.items():
            if limit < -1:
                raise errors.InvalidInput(reason=f"Quota limit {limit} for {resource} must be "
                                                 "-1 or greater.")
            if 0 <= limit < used.get(resource, 0):
                raise errors.InvalidInput(reason=f"Quota limit {limit} for {resource} must be "
                                                 f"greater than or equal to already used and "
                                                 f"reserved {used[resource]}.")
            row = await session.get(QuotaRow, (project_id, resource))
            if row is None:
                session.add(QuotaRow(project_id=project_id, resource=resource, hard_limit=limit))
            else:
                row.hard_limit = limit
        await session.flush()
        return await limits_of(deps, session, project_id)


async def reset(deps: VolumeDeps, ctx: RequestContext, project_id: str) -> None:
    deps.policy.authorize("volume_extension:quotas:delete", ctx, {"project_id": project_id})
    async with deps.write() as session:
        await session.execute(delete(QuotaRow).where(QuotaRow.project_id == project_id))


async def absolute_limits(deps: VolumeDeps, ctx: RequestContext,
                          project_id: str) -> dict[str, int]:
    deps.policy.authorize("limits_extension:used_limits", ctx, {"project_id": project_id})
    async with deps.read() as session:
        limits = await limits_of(deps, session, project_id)
        used = await usage_of(session, project_id)
    return {"maxTotalVolumes": limits["volumes"], "maxTotalSnapshots": limits["snapshots"],
            "maxTotalVolumeGigabytes": limits["gigabytes"], "maxTotalBackups": limits["backups"],
            "maxTotalBackupGigabytes": limits["backup_gigabytes"],
            "totalVolumesUsed": used.volumes, "totalSnapshotsUsed": used.snapshots,
            "totalGigabytesUsed": used.gigabytes, "totalBackupsUsed": 0,
            "totalBackupGigabytesUsed": 0}
