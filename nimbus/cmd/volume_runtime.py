"""The background half of block storage: the volume scheduler with its conductor, and one
volume manager per storage host.

`nimbus up` runs them all in its one process (`volume.hosts` file-backend hosts named
volume-1, ...); `nimbus serve volume-scheduler` and `nimbus serve volume --host NAME` run one
each. Managers reach the database only through the volume conductor, and images over REST with
the service user's token.
"""

from __future__ import annotations

import dataclasses

from nimbus.cmd.runtime import RestClients
from nimbus.core import db
from nimbus.core.config import Settings
from nimbus.core.context import RequestContext
from nimbus.core.periodic import Periodic
from nimbus.core.rpc import RpcServer, Transport
from nimbus.core.service import DbHeartbeat, ServiceIdentity, ServiceRunner, Startable
from nimbus.volume import rpcapi
from nimbus.volume.backends import BACKENDS
from nimbus.volume.conductor import VolumeConductor
from nimbus.volume.manager import BINARY as VOLUME_BINARY
from nimbus.volume.manager import ConductorHeartbeat, VolumeManager
from nimbus.volume.scheduler.manager import SchedulerManager

CAPACITY_INTERVAL = 60.0
SCHEDULER_BINARY = "cinder-scheduler"


def volume_host_names(settings: Settings) -> list[str]:
    return [f"volume-{i}" for i in range(1, settings.volume.hosts + 1)]


@dataclasses.dataclass
class VolumeRuntime:
    services: list[ServiceRunner]
    managers: dict[str, tuple[VolumeManager, ServiceRunner]]

    async def start(self) -> None:
        """Scheduler and conductor first: a manager reconciles through the conductor."""
        for runner in self.services:
            await runner.start()
        for manager, runner in self.managers.values():
            # Registered before it serves, so the scheduler sees the host up at once.
            assert runner.heartbeat is not None
            await runner.heartbeat.beat(runner.identity)
            await runner.start()
            await manager.start()

    async def stop(self) -> None:
        for _, runner in self.managers.values():
            await runner.stop()
        for runner in reversed(self.services):
            await runner.stop()


def scheduler_runner(settings: Settings, factory: db.SessionFactory,
                     transport: Transport) -> ServiceRunner:
    scheduler = SchedulerManager(factory, rpcapi.VolumeAPI(transport), settings.volume)
    servers: list[Startable] = [RpcServer(transport, rpcapi.SCHEDULER_TOPIC, settings.host_name, scheduler,
                         version=rpcapi.API_VERSION),
               RpcServer(transport, rpcapi.CONDUCTOR_TOPIC, settings.host_name,
                         VolumeConductor(factory), version=rpcapi.API_VERSION)]
    return ServiceRunner(ServiceIdentity(SCHEDULER_BINARY, settings.host_name,
                                         rpcapi.SCHEDULER_TOPIC),
                         heartbeat=DbHeartbeat(factory),
                         heartbeat_interval=settings.volume.heartbeat_interval, servers=servers)


def manager_runner(settings: Settings, host: str, transport: Transport,
                   clients: RestClients) -> tuple[VolumeManager, ServiceRunner]:
    conductor = rpcapi.ConductorAPI(transport)
    backend = BACKENDS[settings.volume.backend](settings.volume_dir / host,
                                                capacity_gb=settings.volume.capacity_gb)
    manager = VolumeManager(host, backend, conductor, clients.images, clients.tokens.token,
                            availability_zone=settings.volume.default_availability_zone,
                            scratch=settings.volume_dir / f".scratch-{host}")
    server = RpcServer(transport, rpcapi.VOLUME_TOPIC, host, manager, version=rpcapi.API_VERSION)
    admin = RequestContext.admin()
    runner = ServiceRunner(
        ServiceIdentity(VOLUME_BINARY, host, rpcapi.VOLUME_TOPIC),
        heartbeat=ConductorHeartbeat(conductor),
        heartbeat_interval=settings.volume.heartbeat_interval, servers=[server],
        periodic=[Periodic("capacity", lambda: manager.report_capacity(admin),
                           CAPACITY_INTERVAL)])
    return manager, runner


def all_in_one(settings: Settings, factory: db.SessionFactory, transport: Transport,
               clients: RestClients, hosts: list[str] | None = None) -> VolumeRuntime:
    names = volume_host_names(settings) if hosts is None else hosts
    return VolumeRuntime([scheduler_runner(settings, factory, transport)],
                         {h: manager_runner(settings, h, transport, clients) for h in names})
