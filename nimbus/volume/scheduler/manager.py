"""The volume scheduler's RPC endpoint (topic `volume-scheduler`): `create_volume`.

Hosts come from what their backends last reported (volume_backends) and the volumes the
database already places on them; filters drop hosts that may not take the volume, weighers
rank the rest, and the best is written on the volume row before the host is told to create
it. One lock per scheduler makes choose-and-record atomic within this process, so concurrent
creates never oversubscribe a host between them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy import func, select, update

from nimbus.core import db
from nimbus.core.config import VolumeSettings
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow
from nimbus.volume import errors, states
from nimbus.volume.models import BackendRow, VolumeRow
from nimbus.volume.objects import CreateRequest
from nimbus.volume.rpcapi import VolumeAPI
from nimbus.volume.scheduler.filters import FILTERS, BackendFilter
from nimbus.volume.scheduler.host_state import BackendState
from nimbus.volume.scheduler.weighers import WEIGHERS, BackendWeigher, rank
from nimbus.volume.service import messages

LOG = logging.getLogger(__name__)

VOLUME_BINARY = "cinder-volume"


class SchedulerManager:
    def __init__(self, factory: db.SessionFactory, volumes: VolumeAPI,
                 settings: VolumeSettings) -> None:
        self.factory = factory
        self.volumes = volumes
        self.settings = settings
        ratio = settings.max_over_subscription_ratio
        self.filters: list[BackendFilter] = [FILTERS[n](ratio) for n in settings.enabled_filters]
        self.weighers: list[BackendWeigher] = [WEIGHERS[n](ratio) for n in settings.weighers]
        self._lock = asyncio.Lock()

    async def create_volume(self, ctx: RequestContext, request: dict[str, Any]) -> None:
        req = CreateRequest.model_validate(request)
        async with self._lock:
            try:
                host = await self._select(req)
            except errors.NoValidBackend as exc:
                LOG.info("no host for volume %s: %s", req.volume_id, exc)
                await self._fail(ctx, req, exc.message)
                return
            if not await self._record(req.volume_id, host):
                return  # deleted, or already placed by an earlier delivery of this message
        await self.volumes.create_volume(ctx, host, req)

    async def _select(self, req: CreateRequest) -> str:
        hosts = [h for h in await self._backends() if h.enabled and h.up]
        last = f"Hosts up and enabled (end: {len(hosts)})"
        if req.force_host is not None:
            hosts = [h for h in hosts if h.host == req.force_host]
            last = f"Host of the source {req.force_host} (end: {len(hosts)})"
        for backend_filter in self.filters:
            if not hosts:
                break
            before = len(hosts)
            hosts = [h for h in hosts if backend_filter.passes(h, req)]
            last = f"{backend_filter.name} (start: {before}, end: {len(hosts)})"
        if not hosts:
            raise errors.NoValidBackend(reason=f"Filter results: {last}.")
        return rank(hosts, req, self.weighers)[0].host

    async def _backends(self) -> list[BackendState]:
        down_after = db.utcnow() - dt.timedelta(seconds=self.settings.service_down_time)
        async with self.factory() as session:
            reports = list((await session.execute(select(BackendRow))).scalars())
            services = {s.host: s for s in (await session.execute(select(ServiceRow).where(
                ServiceRow.binary == VOLUME_BINARY))).scalars()}
            provisioned = dict((await session.execute(
                select(VolumeRow.host, func.coalesce(func.sum(VolumeRow.size), 0))
                .where(VolumeRow.host.is_not(None)).group_by(VolumeRow.host))).all())
        found = []
        for report in reports:
            service = services.get(report.host)
            found.append(BackendState(
                host=report.host, availability_zone=report.availability_zone,
                enabled=bool(service and not service.disabled),
                up=bool(service and not service.forced_down and service.last_seen_up
                        and service.last_seen_up >= down_after),
                total_capacity_gb=report.total_capacity_gb,
                free_capacity_gb=report.free_capacity_gb,
                provisioned_gb=int(provisioned.get(report.host) or 0),
                capabilities=dict(report.capabilities or {})))
        return sorted(found, key=lambda h: h.host)

    async def _record(self, volume_id: str, host: str) -> bool:
        async with db.transaction(self.factory) as session:
            done = await session.execute(update(VolumeRow).where(
                VolumeRow.id == volume_id, VolumeRow.status == states.CREATING,
                VolumeRow.host.is_(None)).values(host=host, updated_at=db.utcnow()))
            return bool(getattr(done, "rowcount", 0))

    async def _fail(self, ctx: RequestContext, req: CreateRequest, reason: str) -> None:
        async with db.transaction(self.factory) as session:
            done = await session.execute(update(VolumeRow).where(
                VolumeRow.id == req.volume_id, VolumeRow.status == states.CREATING).values(
                status=states.ERROR, error_reason=reason[:255], updated_at=db.utcnow()))
            if getattr(done, "rowcount", 0):
                messages.record(session, ctx, req.project_id, req.volume_id,
                                messages.NO_BACKEND)
