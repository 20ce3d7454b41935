"""Availability zones (os-availability-zone) and the volume services behind them (os-services).

A zone exists when a volume host reported from it; the configured default zone always does,
so a volume can be created before any host has reported (it then waits in the scheduler's
hands and ends in error if none comes)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import BackendRow

VOLUME_BINARY = "nimbus-volume"
SCHEDULER_BINARY = "nimbus-volume-scheduler"
BINARIES = (VOLUME_BINARY, SCHEDULER_BINARY)


@dataclasses.dataclass(frozen=True)
class Service:
    binary: str
    host: str
    zone: str
    disabled: bool
    disabled_reason: str | None
    up: bool
    updated_at: dt.datetime | None


async def zone_names(deps: VolumeDeps, session: AsyncSession) -> list[str]:
    reported = set((await session.execute(select(BackendRow.availability_zone))).scalars())
    return sorted(reported | {deps.settings.volume.default_availability_zone})


async def resolve(deps: VolumeDeps, session: AsyncSession, wanted: str | None,
                  inherited: str | None) -> str:
    """The zone of a new volume: as asked (it must exist and match its source's), else the
    source's, else the default."""
    if wanted is None:
        return inherited or deps.settings.volume.default_availability_zone
    if wanted not in await zone_names(deps, session):
        raise errors.InvalidInput(reason=f"Availability zone '{wanted}' is invalid.")
    if inherited is not None and wanted != inherited:
        raise errors.InvalidInput(reason="Volume must be in the same availability zone as the "
                                         "snapshot or source volume")
    return wanted


async def list_zones(deps: VolumeDeps, ctx: RequestContext) -> list[tuple[str, bool]]:
    deps.policy.authorize("volume_extension:availability_zone_list", ctx)
    async with deps.read() as session:
        names = await zone_names(deps, session)
        services = await _services(deps, session)
    up_zones = {s.zone for s in services if s.binary == VOLUME_BINARY and s.up and not s.disabled}
    return [(name, name in up_zones) for name in names]


async def _services(deps: VolumeDeps, session: AsyncSession) -> list[Service]:
    rows = (await session.execute(select(ServiceRow).where(
        ServiceRow.binary.in_(BINARIES)).order_by(ServiceRow.id))).scalars()
    zones = dict((await session.execute(select(BackendRow.host,
                                               BackendRow.availability_zone))).all())
    now = db.utcnow()
    down = dt.timedelta(seconds=deps.settings.volume.service_down_time)
    default = deps.settings.volume.default_availability_zone
    return [Service(r.binary, r.host, zones.get(r.host, default), r.disabled, r.disabled_reason,
                    not r.forced_down and r.last_seen_up is not None
                    and r.last_seen_up >= now - down,
                    r.updated_at or r.last_seen_up) for r in rows]


async def list_services(deps: VolumeDeps, ctx: RequestContext, *, host: str | None,
                        binary: str | None) -> list[Service]:
    deps.policy.authorize("volume_extension:services:index", ctx)
    async with deps.read() as session:
        found = await _services(deps, session)
    return [s for s in found if (not host or s.host == host) and (not binary or s.binary == binary)]


async def set_enabled(deps: VolumeDeps, ctx: RequestContext, host: str, binary: str,
                      enabled: bool, reason: str | None) -> Service:
    deps.policy.authorize("volume_extension:services:update", ctx)
    async with deps.write() as session:
        row = (await session.execute(select(ServiceRow).where(
            ServiceRow.host == host, ServiceRow.binary == binary,
            ServiceRow.binary.in_(BINARIES)))).scalar_one_or_none()
        if row is None:
            raise errors.ServiceNotFound(service=f"{binary} on {host}")
        row.disabled = not enabled
        row.disabled_reason = None if enabled else reason
        row.updated_at = db.utcnow()
        await session.flush()
        found = [s for s in await _services(deps, session) if s.host == host and s.binary == binary]
    return found[0]
