"""os-services: the services table as operators see it. Compute services can be disabled
(the scheduler skips them), forced down, and deleted; deleting one also removes its compute
nodes, their placement resource providers and its aggregate memberships, and is refused
while it hosts instances.

A service is up when its last heartbeat is younger than `compute.service_down_time` and it
is not forced down. The API processes register too but, as in Nova, are not listed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors, host_zones
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import AggregateHostRow, ComputeNodeRow, InstanceRow
from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.compute.service import migrations
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow

LOG = logging.getLogger(__name__)

# The services table also holds the API processes' and Cinder's rows; os-services shows
# Nova's RPC services only (Nova hides nova-osapi_compute likewise).
NOVA_SERVICES = frozenset({COMPUTE_BINARY, "nova-conductor", "nova-scheduler"})
INTERNAL_ZONE = "internal"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


@dataclasses.dataclass(frozen=True)
class Service:
    id: int
    uuid: str
    binary: str
    host: str
    zone: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    up: bool
    updated_at: dt.datetime | None


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def is_up(row: ServiceRow, now: dt.datetime, down_time: float) -> bool:
    return _reports(row.forced_down, row.last_seen_up, now, down_time)


def _reports(forced_down: bool, last_seen_up: dt.datetime | None, now: dt.datetime,
             down_time: float) -> bool:
    return (not forced_down and last_seen_up is not None
            and last_seen_up >= now - dt.timedelta(seconds=down_time))


# Built once: every detailed list and show of an admin asks it (a few times per boot when
# a client polls).
_SERVICES = cast(Table, ServiceRow.__table__)
_STATUS_OF = select(_SERVICES.c.host, _SERVICES.c.forced_down, _SERVICES.c.disabled,
                    _SERVICES.c.last_seen_up).where(
    _SERVICES.c.binary == COMPUTE_BINARY, _SERVICES.c.host.in_(bindparam("hosts", expanding=True)))


def to_service(row: ServiceRow, now: dt.datetime, down_time: float,
               zone: str | None = None) -> Service:
    """`zone`: the compute host's availability zone (host_zones); other services are in
    Nova's internal zone."""
    seen = [t for t in (row.updated_at, row.last_seen_up) if t is not None]
    shown = (zone or row.availability_zone) if row.binary == COMPUTE_BINARY else INTERNAL_ZONE
    return Service(row.id, row.uuid, row.binary, row.host, shown, row.disabled,
                   row.disabled_reason, row.forced_down, is_up(row, now, down_time),
                   max(seen) if seen else None)


async def all_services(deps: ComputeDeps, session: AsyncSession) -> list[Service]:
    """Every service but the API processes, ordered by id (Nova's order)."""
    rows = (await session.execute(select(ServiceRow).order_by(ServiceRow.id))).scalars()
    zones = await host_zones.zoned_hosts(session)
    now, compute = db.utcnow(), deps.settings.compute
    return [to_service(r, now, compute.service_down_time,
                       zones.get(r.host, compute.default_availability_zone))
            for r in rows if r.binary in NOVA_SERVICES]


async def compute_service(session: AsyncSession, host: str) -> ServiceRow | None:
    """`host`'s compute service, if it has one."""
    found: ServiceRow | None = (await session.execute(select(ServiceRow).where(
        ServiceRow.binary == COMPUTE_BINARY, ServiceRow.host == host))).scalar()
    return found


async def host_is_up(deps: ComputeDeps, session: AsyncSession, host: str) -> bool:
    """Whether `host`'s compute service reports (and is not forced down); a host without a
    compute service is not up, as Nova treats ComputeHostNotFound."""
    row = await compute_service(session, host)
    return row is not None and is_up(row, db.utcnow(), deps.settings.compute.service_down_time)


async def host_statuses(deps: ComputeDeps, ctx: RequestContext,
                        hosts: set[str]) -> dict[str, str] | None:
    """Nova's `host_status` (2.16) of each compute host: DOWN when forced down, MAINTENANCE
    when disabled, UP while it reports, else UNKNOWN; "" for a server on no (known) host.
    None when the caller may not see it (admins only, by default)."""
    if not deps.policy.allowed("os_compute_api:servers:show:host_status", ctx,
                               {"project_id": ctx.project_id}):
        return None
    if not hosts:
        return {}
    async with deps.read() as session:
        rows = (await session.execute(_STATUS_OF, {"hosts": sorted(hosts)})).all()
    now, down_time = db.utcnow(), deps.settings.compute.service_down_time
    return {host: "DOWN" if forced_down else "MAINTENANCE" if disabled else
            "UP" if _reports(forced_down, seen, now, down_time) else "UNKNOWN"
            for host, forced_down, disabled, seen in rows}


async def host_status(deps: ComputeDeps, ctx: RequestContext, host: str | None) -> str | None:
    """One server's `host_status`, as host_statuses gives it."""
    statuses = await host_statuses(deps, ctx, {host} if host else set())
    return None if statuses is None else statuses.get(host or "", "")


async def list_services(deps: ComputeDeps, ctx: RequestContext, *, host: str | None = None,
                        binary: str | None = None) -> list[Service]:
    deps.policy.authorize("os_compute_api:os-services:list", ctx, {})
    async with deps.read() as session:
        found = await all_services(deps, session)
    return [s for s in found if (not host or s.host == host) and (not binary or s.binary == binary)]


LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


async def legacy_action(deps: ComputeDeps, ctx: RequestContext, action: str, *, host: str,
                        binary: str, disabled_reason: str | None, forced_down: bool | None,
                        version: tuple[int, int]) -> dict[str, Any]:
    """The pre-2.53 actions, naming the service by host and binary; what they answer with
    besides the host and binary."""
    deps.policy.authorize("os_compute_api:os-services:update", ctx, {})
    if action not in LEGACY_ACTIONS or (action == "force-down" and version < (2, 11)):
        raise core_errors.NotFound("Unknown action")
    answer: dict[str, Any]
    if action == "force-down":
        if forced_down is None:
            raise core_errors.BadRequest("Missing forced_down field")
        changes: dict[str, Any] = {"forced_down": forced_down}
        answer = {"forced_down": forced_down}
    elif action == "enable":
        changes = {"disabled": False, "disabled_reason": None}
        answer = {"status": "enabled"}
    else:
        reason = None
        if action == "disable-log-reason":
            if disabled_reason is None:
                raise core_errors.BadRequest("Missing disabled reason field")
            reason = disabled_reason
        changes = {"disabled": True, "disabled_reason": reason}
        answer = {"status": "disabled", **({"disabled_reason": reason} if reason else {})}
    if binary != COMPUTE_BINARY:
        raise errors.ServiceNotUpdatable(binary=binary)
    async with deps.write() as session:
        row = (await session.execute(select(ServiceRow).where(
            ServiceRow.host == host, ServiceRow.binary == binary))).scalar()
        if row is None:
            raise errors.HostBinaryNotFound(host=host, binary=binary)
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = db.utcnow()
    return answer


async def update_service(deps: ComputeDeps, ctx: RequestContext, service_id: str, *,
                         status: str | None, disabled_reason: str | None,
                         forced_down: bool | None) -> Service:
    """2.53+: by uuid; `status` and/or `forced_down`, a reason only with disabling."""
    if not is_uuid(service_id):
        raise core_errors.BadRequest(f"Invalid uuid {service_id}")
    deps.policy.authorize("os_compute_api:os-services:update", ctx, {})
    async with deps.write() as session:
        row = (await session.execute(select(ServiceRow).where(
            ServiceRow.uuid == service_id))).scalar()
        if row is None:
            raise errors.ServiceNotFound(service_id=service_id)
        if row.binary != COMPUTE_BINARY:
            raise errors.ServiceNotUpdatable(binary=row.binary)
        if status is None and forced_down is None:
            raise core_errors.BadRequest("No updates were requested. Fields 'status' or "
                                         "'forced_down' should be specified.")
        if status == "enabled":
            if disabled_reason:
                raise core_errors.BadRequest("Specifying 'disabled_reason' with status "
                                             "'enabled' is invalid.")
            row.disabled, row.disabled_reason = False, None
        elif status == "disabled":
            row.disabled, row.disabled_reason = True, disabled_reason
        if forced_down is not None:
            row.forced_down = forced_down
        row.updated_at = now = db.utcnow()
        zones = await host_zones.zoned_hosts(session, [row.host])
        return to_service(row, now, deps.settings.compute.service_down_time,
                          zones.get(row.host, deps.settings.compute.default_availability_zone))


async def delete_service(deps: ComputeDeps, ctx: RequestContext, service_id: str, *,
                         by_uuid: bool) -> None:
    """Delete a service record. A compute service's nodes go with it, and their resource
    providers leave placement; refused (409) while any instance is on its host or a move to
    or from it is in progress. Evacuations off it end there: what they held on it goes."""
    if by_uuid and not is_uuid(service_id):
        raise core_errors.BadRequest(f"Invalid uuid {service_id}")
    if not by_uuid and not re.fullmatch(r"\s*-?\d+\s*", service_id):
        raise errors.InvalidInput(reason="id must be an integer")
    deps.policy.authorize("os_compute_api:os-services:delete", ctx, {})
    column = ServiceRow.uuid == service_id if by_uuid else ServiceRow.id == int(service_id)
    async with deps.write() as session:
        row = (await session.execute(select(ServiceRow).where(column))).scalar()
        if row is None or row.binary not in NOVA_SERVICES:
            raise errors.ServiceNotFound(service_id=service_id)
        providers: list[str] = []
        evacuated: list[str] = []
        if row.binary == COMPUTE_BINARY:
            hosted = (await session.execute(select(func.count()).select_from(InstanceRow).where(
                InstanceRow.host == row.host, InstanceRow.deleted_at.is_(None)))).scalar_one()
            if hosted:
                raise errors.ServiceHostsInstances()
            evacuated = await migrations.leaving_host(session, row.host)
            providers = list((await session.execute(select(ComputeNodeRow.uuid).where(
                ComputeNodeRow.host == row.host))).scalars())
            await session.execute(delete(ComputeNodeRow).where(ComputeNodeRow.host == row.host))
            # As Nova: the host leaves its aggregates (their providers leave placement below).
            await session.execute(delete(AggregateHostRow).where(
                AggregateHostRow.host == row.host))
        await session.delete(row)
    placement = deps.placement_for(ctx)
    for migration_uuid in evacuated:  # what the host's guests held there, as Nova's cascade
        await placement.delete_allocations(migration_uuid)
    for provider in providers:
        # As Nova: the service is gone either way; a provider placement keeps is logged.
        try:
            await placement.delete_provider(provider)
        except core_errors.NimbusError as exc:
            LOG.error("could not delete resource provider %s of %s: %s", provider,
                      row.host, exc.message)
