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

# Cinder's names: clients and Tempest filter os-services on them.
VOLUME_BINARY = "cinder-volume"
SCHEDULER_BINARY = "cinder-scheduler"
BINARIES = (VOLUME_BINARY, SCHEDULER_BINARY)


@dataclasses.dataclass(frozen=True)
class Service:
    """As os-services shows it: Cinder's binary name, and `host@backend` for volume hosts."""

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
    up_zones = {s.zone for s in services
                if s.binary == VOLUME_BINARY and s.up and not s.disabled}
    return [(name, name in up_zones) for name in names]


async def _services(deps: VolumeDeps, session: AsyncSession) -> list[Service]:
    rows = (await session.execute(select(ServiceRow).where(
        ServiceRow.binary.in_(BINARIES)).order_by(ServiceRow.id))).scalars()
    reports = {r.host: r for r in (await session.execute(select(BackendRow))).scalars()}
    now = db.utcnow()
    down = dt.timedelta(seconds=deps.settings.volume.service_down_time)
    default = deps.settings.volume.default_availability_zone
    found = []
    for r in rows:
        report = reports.get(r.host)
        host = f"{r.host}@{report.backend}" if report and r.binary == VOLUME_BINARY else r.host
        found.append(Service(r.binary, host,
                             report.availability_zone if report else default, r.disabled,
                             r.disabled_reason,
                             not r.forced_down and r.last_seen_up is not None
                             and r.last_seen_up >= now - down, r.updated_at or r.last_seen_up))
    return found


def _host_matches(service: Service, host: str) -> bool:
    return host in (service.host, service.host.partition("@")[0])


async def list_services(deps: VolumeDeps, ctx: RequestContext, *, host: str | None,
                        binary: str | None) -> list[Service]:
    deps.policy.authorize("volume_extension:services:index", ctx)
    async with deps.read() as session:
        found = await _services(deps, session)
    return [s for s in found
            if (not host or _host_matches(s, host)) and (not binary or s.binary == binary)]


async def set_enabled(deps: VolumeDeps, ctx: RequestContext, host: str, binary: str,
                      enabled: bool, reason: str | None) -> Service:
    deps.policy.authorize("volume_extension:services:update", ctx)
    async with deps.write() as session:
        row = (await session.execute(select(ServiceRow).where(
            ServiceRow.host == host.partition("@")[0],
            ServiceRow.binary == binary))).scalar_one_or_none() if binary in BINARIES else None
        if row is None:
            raise errors.ServiceNotFound(service=f"{binary} on {host}")
        row.disabled = not enabled
        row.disabled_reason = None if enabled else reason
        row.updated_at = db.utcnow()
        await session.flush()
        found = [s for s in await _services(deps, session)
                 if _host_matches(s, host) and s.binary == binary]
    return found[0]
