"""os-aggregates: host aggregates with their hosts and metadata, for admins.

As in Nova, an aggregate's uuid is mirrored as a placement aggregate on the resource providers
of its hosts' compute nodes, and its `availability_zone` metadata is the zone of its hosts
(host_zones). Nova's zone rules hold: a host is in one zone at most, an empty zone name is
refused, and no change may move the instances of a host to another zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid as uuidlib

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.host_zones import ZONE_KEY
from nimbus.compute.models import (
    AggregateHostRow,
    AggregateMetadataRow,
    AggregateRow,
    ComputeNodeRow,
    InstanceRow,
)
from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow

LOG = logging.getLogger(__name__)

_MAX_ID = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Aggregate:
    id: int
    uuid: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    hosts: list[str]
    metadata: dict[str, str]

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


def _int_id(aggregate_id: str) -> int:
    try:
        return int(aggregate_id)
    except ValueError:
        raise errors.InvalidInput(reason="id must be an integer") from None


async def _row(session: AsyncSession, aggregate_id: str) -> AggregateRow:
    number = _int_id(aggregate_id)
    row = await session.get(AggregateRow, number) if -_MAX_ID <= number <= _MAX_ID else None
    if row is None:
        raise errors.AggregateNotFound(aggregate_id=aggregate_id)
    return row


async def _assemble(session: AsyncSession, rows: list[AggregateRow]) -> list[Aggregate]:
    ids = [r.id for r in rows]
    hosts: dict[int, list[str]] = {i: [] for i in ids}
    metadata: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for agg_id, host in (await session.execute(select(
                AggregateHostRow.aggregate_id, AggregateHostRow.host).where(
                AggregateHostRow.aggregate_id.in_(ids)).order_by(AggregateHostRow.host))).all():
            hosts[agg_id].append(host)
        for agg_id, key, value in (await session.execute(select(
                AggregateMetadataRow.aggregate_id, AggregateMetadataRow.key,
                AggregateMetadataRow.value).where(AggregateMetadataRow.aggregate_id.in_(ids)))).all():
            metadata[agg_id][key] = value
    return [Aggregate(r.id, r.uuid, r.name, r.created_at, r.updated_at, hosts[r.id],
                      metadata[r.id]) for r in rows]


async def _one(session: AsyncSession, row: AggregateRow) -> Aggregate:
    return (await _assemble(session, [row]))[0]


async def list_aggregates(deps: ComputeDeps, ctx: RequestContext) -> list[Aggregate]:
    deps.policy.authorize("os_compute_api:os-aggregates:index", ctx, {})
    async with deps.read() as session:
        rows = list((await session.execute(select(AggregateRow).order_by(AggregateRow.id))).scalars())
        return await _assemble(session, rows)


async def get_aggregate(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str) -> Aggregate:
    deps.policy.authorize("os_compute_api:os-aggregates:show", ctx, {})
    async with deps.read() as session:
        return await _one(session, await _row(session, aggregate_id))


async def _name_taken(session: AsyncSession, name: str, but: int | None = None) -> None:
    query = select(AggregateRow.id).where(AggregateRow.name == name)
    if but is not None:
        query = query.where(AggregateRow.id != but)
    if (await session.execute(query)).first() is not None:
        raise errors.AggregateNameExists(aggregate_name=name)


async def create_aggregate(deps: ComputeDeps, ctx: RequestContext, name: str,
                           zone: str | None) -> Aggregate:
    deps.policy.authorize("os_compute_api:os-aggregates:create", ctx, {})
    async with deps.write() as session:
        await _name_taken(session, name)
        row = AggregateRow(uuid=str(uuidlib.uuid4()), name=name)
        session.add(row)
        await session.flush()
        if zone:
            session.add(AggregateMetadataRow(aggregate_id=row.id, key=ZONE_KEY, value=zone))
        return Aggregate(row.id, row.uuid, row.name, row.created_at, None, [],
                         {ZONE_KEY: zone} if zone else {})


async def _instances_on(session: AsyncSession, hosts: list[str]) -> int:
    if not hosts:
        return 0
    return int((await session.execute(select(func.count()).select_from(InstanceRow).where(
        InstanceRow.host.in_(hosts), InstanceRow.deleted_at.is_(None)))).scalar_one())


async def _zone_problem(session: AsyncSession, agg: Aggregate, zone: str | None,
                        hosts: list[str], *, check_instances: bool) -> str | None:
    """Why giving `hosts` of `agg` the zone `zone` is refused (Nova's is_safe_to_update_az)."""
    if not zone:
        return f"Aggregate {agg.name} does not support empty named availability zone"
    if hosts:
        others = await session.execute(
            select(AggregateMetadataRow.aggregate_id, AggregateMetadataRow.value).distinct()
            .join(AggregateHostRow,
                  AggregateHostRow.aggregate_id == AggregateMetadataRow.aggregate_id)
            .where(AggregateHostRow.host.in_(hosts), AggregateMetadataRow.key == ZONE_KEY,
                   AggregateMetadataRow.aggregate_id != agg.id,
                   AggregateMetadataRow.value != zone)
            .order_by(AggregateMetadataRow.aggregate_id))
        conflicting = [value for _, value in others.all()]
        if conflicting:
            return f"One or more hosts already in availability zone(s) {conflicting}"
    if check_instances and agg.availability_zone != zone and await _instances_on(session, hosts):
        return "One or more hosts contain instances in this zone"
    return None


async def _set_metadata(session: AsyncSession, aggregate_id: int,
                        metadata: dict[str, str | None]) -> None:
    for key, value in metadata.items():
        await session.execute(delete(AggregateMetadataRow).where(
            AggregateMetadataRow.aggregate_id == aggregate_id, AggregateMetadataRow.key == key))
        if value is not None:
            session.add(AggregateMetadataRow(aggregate_id=aggregate_id, key=key, value=value))


async def update_aggregate(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str,
                           changes: dict[str, str | None]) -> Aggregate:
    """`name` and/or `availability_zone`; all checked before anything is written."""
    deps.policy.authorize("os_compute_api:os-aggregates:update", ctx, {})
    async with deps.write() as session:
        row = await _row(session, aggregate_id)
        agg = await _one(session, row)
        name = changes.get("name")
        if name is not None:
            await _name_taken(session, name, but=row.id)
        if ZONE_KEY in changes:
            problem = await _zone_problem(session, agg, changes[ZONE_KEY], agg.hosts,
                                          check_instances=True)
            if problem:
                raise errors.InvalidAggregateAction(action="update", aggregate_id=row.id,
                                                    reason=problem)
            await _set_metadata(session, row.id, {ZONE_KEY: changes[ZONE_KEY]})
        if name is not None:
            row.name = name
        row.updated_at = db.utcnow()
        await session.flush()
        return await _one(session, row)


async def set_metadata(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str,
                       metadata: dict[str, str | None]) -> Aggregate:
    """Set keys, and remove those given as null."""
    deps.policy.authorize("os_compute_api:os-aggregates:set_metadata", ctx, {})
    async with deps.write() as session:
        row = await _row(session, aggregate_id)
        agg = await _one(session, row)
        if ZONE_KEY in metadata:
            problem = await _zone_problem(session, agg, metadata[ZONE_KEY], agg.hosts,
                                          check_instances=True)
            if problem:
                raise errors.InvalidAggregateAction(action="update metadata of",
                                                    aggregate_id=row.id, reason=problem)
        await _set_metadata(session, row.id, metadata)
        row.updated_at = db.utcnow()
        await session.flush()
        return await _one(session, row)


async def delete_aggregate(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str) -> None:
    """Refused (400, Nova's words) while the aggregate has hosts."""
    deps.policy.authorize("os_compute_api:os-aggregates:delete", ctx, {})
    async with deps.write() as session:
        row = await _row(session, aggregate_id)
        if (await _one(session, row)).hosts:
            raise errors.InvalidAggregateAction(action="remove host from", aggregate_id=row.id,
                                                reason="Host aggregate is not empty")
        await session.delete(row)  # its metadata goes with it (ON DELETE CASCADE)


async def _compute_host_exists(session: AsyncSession, host: str) -> bool:
    found = await session.execute(select(ServiceRow.host).where(
        ServiceRow.binary == COMPUTE_BINARY, ServiceRow.host == host))
    # A case-insensitive collation (MariaDB) finds "Node1" for "node1": Nova refuses it too.
    return any(h == host for (h,) in found.all())


def _moved_zone(hosted: int, old: str | None, new: str | None) -> str:
    return (f"The host cannot be added to the aggregate as the availability zone of the host "
            f"would change from '{old}' to '{new}' but the host already has {hosted} "
            "instance(s). Changing the AZ of an existing instance is not supported by this "
            "action. Move the instances away from this host then try again. If you need to "
            "move the instances between AZs then you can use shelve_offload and unshelve to "
            "achieve this.")


async def _zone_of(session: AsyncSession, host: str, but: int | None = None) -> str | None:
    """The zone an aggregate (other than `but`) gives `host`; None if none does."""
    query = select(AggregateMetadataRow.value).join(
        AggregateHostRow, AggregateHostRow.aggregate_id == AggregateMetadataRow.aggregate_id
    ).where(AggregateHostRow.host == host, AggregateMetadataRow.key == ZONE_KEY)
    if but is not None:
        query = query.where(AggregateMetadataRow.aggregate_id != but)
    return (await session.execute(query.limit(1))).scalar()


async def add_host(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str,
                   host: str) -> Aggregate:
    deps.policy.authorize("os_compute_api:os-aggregates:add_host", ctx, {})
    async with deps.write() as session:
        if not await _compute_host_exists(session, host):
            raise errors.ComputeHostNotFound(host=host)
        row = await _row(session, aggregate_id)
        agg = await _one(session, row)
        if host in agg.hosts:
            raise errors.AggregateHostExists(aggregate_id=row.id, host=host)
        zone = agg.availability_zone
        if ZONE_KEY in agg.metadata:
            problem = await _zone_problem(session, agg, zone, [host], check_instances=False)
            if problem:
                raise errors.AggregateHostConflict(action="add host to", aggregate_id=row.id,
                                                   reason=problem)
            hosted = await _instances_on(session, [host])
            old = await _zone_of(session, host)
            if hosted and old != zone:
                raise errors.AggregateHostConflict(action="add host to", aggregate_id=row.id,
                                                   reason=_moved_zone(hosted, old, zone))
        session.add(AggregateHostRow(aggregate_id=row.id, host=host))
        row.updated_at = db.utcnow()
        await session.flush()
        providers = await _providers(session, host)
        found = await _one(session, row)
    for provider in providers:
        await _mirror(deps, ctx, provider, add=found.uuid)
    return found


async def remove_host(deps: ComputeDeps, ctx: RequestContext, aggregate_id: str,
                      host: str) -> Aggregate:
    """An unknown aggregate or host, or a host not in it: Nova's one 404 message for all."""
    deps.policy.authorize("os_compute_api:os-aggregates:remove_host", ctx, {})
    async with deps.read() as session:
        try:
            row = await _row(session, aggregate_id)
        except errors.AggregateNotFound:
            raise errors.AggregateHostNotFound(host=host, aggregate_id=aggregate_id) from None
        agg = await _one(session, row)
        if host not in agg.hosts or not await _compute_host_exists(session, host):
            raise errors.AggregateHostNotFound(host=host, aggregate_id=aggregate_id)
        hosted = await _instances_on(session, [host])
        if hosted and agg.availability_zone is not None:
            new = await _zone_of(session, host, but=row.id)
            if new != agg.availability_zone:
                reason = _moved_zone(hosted, agg.availability_zone, new).replace(
                    "cannot be added to", "cannot be removed from")
                raise errors.AggregateHostConflict(action="remove host from",
                                                   aggregate_id=row.id, reason=reason)
        providers = await _providers(session, host)
    # Placement first, as Nova: a failure there leaves the host in, to be removed again.
    for provider in providers:
        await _mirror(deps, ctx, provider, remove=agg.uuid)
    async with deps.write() as session:
        await session.execute(delete(AggregateHostRow).where(
            AggregateHostRow.aggregate_id == row.id, AggregateHostRow.host == host))
        row = await _row(session, aggregate_id)
        row.updated_at = db.utcnow()
        await session.flush()
        return await _one(session, row)


async def _providers(session: AsyncSession, host: str) -> list[str]:
    return list((await session.execute(select(ComputeNodeRow.uuid).where(
        ComputeNodeRow.host == host))).scalars())


async def _mirror(deps: ComputeDeps, ctx: RequestContext, provider: str, *,
                  add: str | None = None, remove: str | None = None) -> None:
    """The host aggregate as a placement aggregate of the node's provider. Nova tells the
    user nothing when this fails (a later add or remove repairs it); the log says it."""
    try:
        if not await deps.placement_for(ctx).change_aggregates(provider, add=add, remove=remove):
            LOG.warning("resource provider %s is not in placement; aggregate %s not mirrored",
                        provider, add or remove)
    except core_errors.NimbusError as exc:
        LOG.warning("could not mirror aggregate %s on resource provider %s: %s",
                    add or remove, provider, exc.message)
