"""The service runner: start, heartbeat, periodic tasks, stop.

    runner = ServiceRunner(ServiceIdentity("nova-conductor", host="node1", topic="conductor"),
                           heartbeat=DbHeartbeat(db), periodic=[...], servers=[rpc_server])
    await runner.start()
    ...
    await runner.stop()

The heartbeat is a seam: API-side services write the `services` table directly; hosts
that must not open the database (compute agents) hand in a sink that reports through RPC.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Protocol

from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nimbus.core import db
from nimbus.core.periodic import Periodic, start_periodic
from nimbus.core.tasks import TaskGroup

LOG = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class CoreBase(DeclarativeBase):
    metadata = db.new_metadata()


class ServiceRow(CoreBase):
    """One running service on one host, as os-services lists it."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("binary", "host", name="uq_services_binary_host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    binary: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


@dataclasses.dataclass(frozen=True)
class ServiceIdentity:
    binary: str
    host: str
    topic: str | None = None


class HeartbeatSink(abc.ABC):
    @abc.abstractmethod
    async def beat(self, who: ServiceIdentity) -> None:
        """Record that `who` is alive now (registering it on first beat)."""


class DbHeartbeat(HeartbeatSink):
    def __init__(self, factory: db.SessionFactory) -> None:
        self.factory = factory

    async def beat(self, who: ServiceIdentity) -> None:
        import uuid

        async with db.transaction(self.factory) as session:
            row = (await session.execute(select(ServiceRow).where(
                ServiceRow.binary == who.binary, ServiceRow.host == who.host))).scalar_one_or_none()
            now = db.utcnow()
            if row is None:
                session.add(ServiceRow(uuid=str(uuid.uuid4()), binary=who.binary, host=who.host,
                                       topic=who.topic, report_count=1, last_seen_up=now))
            else:
                row.report_count += 1
                row.last_seen_up = now
                row.updated_at = now


class Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class ServiceRunner:
    def __init__(self, identity: ServiceIdentity, *, heartbeat: HeartbeatSink | None = None,
                 heartbeat_interval: float = 10.0, periodic: list[Periodic] | None = None,
                 servers: list[Startable] | None = None) -> None:
        self.identity = identity
        self.heartbeat = heartbeat
        self.heartbeat_interval = heartbeat_interval
        self.periodic = list(periodic or [])
        self.servers = list(servers or [])
        self.tasks = TaskGroup(f"{identity.binary}@{identity.host}")

    async def start(self) -> None:
        for server in self.servers:
            await server.start()
        jobs = list(self.periodic)
        if self.heartbeat is not None:
            sink, who = self.heartbeat, self.identity
            jobs.append(Periodic("heartbeat", lambda: sink.beat(who), self.heartbeat_interval,
                                 run_immediately=True))
        start_periodic(self.tasks, jobs)
        LOG.info("%s started on %s", self.identity.binary, self.identity.host)

    async def stop(self) -> None:
        await self.tasks.aclose()
        for server in reversed(self.servers):
            await server.stop()
        LOG.info("%s stopped on %s", self.identity.binary, self.identity.host)
