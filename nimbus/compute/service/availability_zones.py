"""os-availability-zone: the zones of the services, as Nova shows them.

A zone with an enabled service is available; a zone whose services are all disabled is not.
The summary hides Nova's `internal` zone (conductor, scheduler); the admin detail shows it,
with each enabled service per host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.service.compute_services import INTERNAL_ZONE, Service, all_services
from nimbus.core.context import RequestContext


@dataclasses.dataclass(frozen=True)
class ServiceState:
    available: bool
    active: bool
    updated_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Zone:
    name: str
    available: bool
    # host -> binary -> state; only in the detail of an available zone.
    hosts: dict[str, dict[str, ServiceState]] | None = None


def _split(services: list[Service]) -> tuple[list[str], list[str]]:
    available = sorted({s.zone for s in services if not s.disabled})
    unavailable = sorted({s.zone for s in services if s.disabled} - set(available))
    return available, unavailable


async def list_zones(deps: ComputeDeps, ctx: RequestContext) -> list[Zone]:
    deps.policy.authorize("os_compute_api:os-availability-zone:list", ctx, {})
    async with deps.read() as session:
        services = await all_services(deps, session)
    available, unavailable = _split(services)
    return ([Zone(z, True) for z in available if z != INTERNAL_ZONE]
            + [Zone(z, False) for z in unavailable if z != INTERNAL_ZONE])


async def list_zones_detail(deps: ComputeDeps, ctx: RequestContext) -> list[Zone]:
    deps.policy.authorize("os_compute_api:os-availability-zone:detail", ctx, {})
    async with deps.read() as session:
        services = await all_services(deps, session)
    available, unavailable = _split(services)
    hosts: dict[str, dict[str, dict[str, ServiceState]]] = {}
    for service in services:
        if not service.disabled:
            by_host = hosts.setdefault(service.zone, {}).setdefault(service.host, {})
            by_host[service.binary] = ServiceState(service.up, True, service.updated_at)
    return ([Zone(z, True, hosts.get(z, {})) for z in available]
            + [Zone(z, False) for z in unavailable])
