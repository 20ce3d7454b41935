"""The scheduler's RPC endpoint (topic `scheduler`): `select_destinations`.

Placement proposes hosts with room; filters drop the ones that may not take the instance;
weighers rank the rest; the best is claimed in placement. A claim that loses a race (the
provider filled up meanwhile) moves on to the next host. Alternates are returned unclaimed:
the conductor passes them back as preferred hosts if the build must be retried.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from nimbus.compute import errors, host_zones
from nimbus.compute.models import ComputeNodeRow, InstanceRow, ServerGroupMemberRow, ServerGroupRow
from nimbus.compute.objects import RequestSpec, Selection, SelectionList
from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.compute.scheduler.filters import FILTERS, HostFilter
from nimbus.compute.scheduler.host_state import GroupPlacement, HostState
from nimbus.compute.scheduler.weighers import WEIGHERS, HostWeigher, rank
from nimbus.core import db
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.config import ComputeSettings
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow

LOG = logging.getLogger(__name__)

# Built once, on the tables: every boot schedules, and building ORM statements and loading
# ORM objects for each host cost more than the database work.
_NODE_TABLE = cast(Table, ComputeNodeRow.__table__)
_SERVICE_TABLE = cast(Table, ServiceRow.__table__)
_NODES = select(_NODE_TABLE.c.uuid, _NODE_TABLE.c.host, _NODE_TABLE.c.hypervisor_hostname,
                _NODE_TABLE.c.hypervisor_type).where(
    _NODE_TABLE.c.uuid.in_(bindparam("providers", expanding=True)))
_SERVICES = select(_SERVICE_TABLE.c.host, _SERVICE_TABLE.c.disabled,
                   _SERVICE_TABLE.c.forced_down, _SERVICE_TABLE.c.last_seen_up).where(
    _SERVICE_TABLE.c.binary == COMPUTE_BINARY)


class SchedulerManager:
    def __init__(self, factory: db.SessionFactory, placement: PlacementClient,
                 settings: ComputeSettings) -> None:
        self.factory = factory
        self.placement = placement
        self.settings = settings
        self.filters: list[HostFilter] = [FILTERS[name]() for name in settings.enabled_filters]
        self.weighers: list[HostWeigher] = [WEIGHERS[name]() for name in settings.weighers]

    async def select_destinations(self, ctx: RequestContext, spec: dict[str, Any],
                                  alternates: int) -> list[dict[str, Any]]:
        request = RequestSpec.model_validate(spec)
        resources = request.flavor.resources()
        hosts = await self._host_states(request, resources)
        chosen: list[SelectionList] = []
        try:
            for uuid in request.instance_uuids:
                chosen.append(await self._place_one(request, uuid, resources, hosts, alternates))
        except errors.NoValidHost:
            # All or nothing: give back what this request already claimed.
            for done, uuid in zip(chosen, request.instance_uuids, strict=False):
                LOG.info("releasing the claim of %s on %s", uuid, done.selections[0].host)
                await self.placement.delete_allocations(uuid)
            raise
        return [c.model_dump(mode="json") for c in chosen]

    async def _place_one(self, request: RequestSpec, uuid: str, resources: dict[str, int],
                         hosts: list[HostState], alternates: int) -> SelectionList:
        passing, report = self._filter(hosts, request, resources)
        ranked = rank(passing, request, self.weighers)
        preferred = [h for name in request.preferred_hosts for h in ranked if h.host == name]
        ordered = preferred + [h for h in ranked if h not in preferred]
        for index, host in enumerate(ordered):
            if await self.placement.claim(uuid, host.provider_uuid, resources,
                                          request.project_id, request.user_id):
                host.consume(resources, uuid, in_group=request.group_uuid is not None)
                others = ordered[index + 1:index + 1 + alternates]
                return SelectionList(selections=[
                    Selection(host=h.host, node=h.node, provider_uuid=h.provider_uuid,
                              allocation=resources) for h in [host, *others]])
            LOG.info("claim on %s lost a race for %s; trying the next host", host.host, uuid)
        LOG.info("no host for %s: %s", uuid, report)
        raise errors.NoValidHost(reason=f"There are not enough hosts available. {report}")

    def _filter(self, hosts: list[HostState], request: RequestSpec,
                resources: dict[str, int]) -> tuple[list[HostState], str]:
        remaining = [h for h in hosts if h.host not in request.ignore_hosts
                     and all(h.free.get(rc, 0) >= n for rc, n in resources.items())
                     and request.hypervisor_type in (None, h.hypervisor_type)]
        last = f"Placement and retries (start: {len(hosts)}, end: {len(remaining)})"
        forced = request.force_host is not None or request.force_node is not None
        host = request.force_host if forced else request.requested_host
        node = request.force_node if forced else request.requested_node
        if host is not None or node is not None:
            before = len(remaining)
            remaining = [h for h in remaining
                         if host in (None, h.host) and node in (None, h.node)]
            where = ":".join(part or "" for part in (host, node)).rstrip(":")
            last = (f"{'Forced' if forced else 'Requested'} destination {where} "
                    f"(start: {before}, end: {len(remaining)})")
        # As Nova does, a host or node an admin forced skips every filter (a disabled host
        # takes the server too); placement must still have room on it, and the claim is made.
        for host_filter in [] if forced else self.filters:
            if not remaining:
                break
            before = len(remaining)
            remaining = [h for h in remaining if host_filter.passes(h, request)]
            last = f"{host_filter.name} (start: {before}, end: {len(remaining)})"
        # A fault message holds 255 characters: it names the step that removed the last host.
        return remaining, f"Filter results: {last}."

    async def _host_states(self, request: RequestSpec,
                           resources: dict[str, int]) -> list[HostState]:
        candidates = await self.placement.allocation_candidates(resources)
        if not candidates:
            return []
        by_provider = {c.provider_uuid: c for c in candidates}
        down_after = db.utcnow() - dt.timedelta(seconds=self.settings.service_down_time)
        async with self.factory() as session:
            nodes = (await session.execute(_NODES, {"providers": list(by_provider)})).all()
            services = {row.host: row for row in (await session.execute(_SERVICES)).all()}
            on_host: dict[str, set[str]] = {}
            # Only same_host and different_host need to know which instances run where.
            if request.same_host or request.different_host:
                placed = await session.execute(select(InstanceRow.uuid, InstanceRow.host).where(
                    InstanceRow.uuid.in_(request.same_host + request.different_host),
                    InstanceRow.deleted_at.is_(None)))
                for uuid, host in placed.all():
                    if host is not None:
                        on_host.setdefault(host, set()).add(uuid)
            group = await self._group_placement(session, request)
            zones = await host_zones.zoned_hosts(session, [n.host for n in nodes])
        states = []
        for node in nodes:
            candidate = by_provider[node.uuid]
            service = services.get(node.host)
            up = bool(service and not service.forced_down and service.last_seen_up
                      and service.last_seen_up >= down_after)
            states.append(HostState(
                host=node.host, node=node.hypervisor_hostname, provider_uuid=node.uuid,
                availability_zone=zones.get(node.host, self.settings.default_availability_zone),
                hypervisor_type=node.hypervisor_type,
                enabled=bool(service and not service.disabled), up=up,
                free={rc: candidate.capacity.get(rc, 0) - candidate.used.get(rc, 0)
                      for rc in candidate.capacity},
                instance_uuids=on_host.get(node.host, set()), group=group))
        return sorted(states, key=lambda s: s.host)

    async def _group_placement(self, session: Any, request: RequestSpec) -> GroupPlacement:
        group = GroupPlacement()
        if request.group_uuid is None:
            return group
        rows = await session.execute(
            select(InstanceRow.host).join(ServerGroupMemberRow,
                                          ServerGroupMemberRow.instance_uuid == InstanceRow.uuid)
            .join(ServerGroupRow, ServerGroupRow.id == ServerGroupMemberRow.group_id)
            .where(ServerGroupRow.uuid == request.group_uuid, InstanceRow.deleted_at.is_(None),
                   InstanceRow.host.is_not(None),
                   InstanceRow.uuid.not_in(request.instance_uuids)))
        for (host,) in rows.all():
            group.add(host)
        return group
