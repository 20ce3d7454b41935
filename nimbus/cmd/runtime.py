"""The background half of compute: conductor, scheduler and compute agents as RPC servers.

`nimbus up` runs them all in its one process (the fake driver on `fake_hosts` named hosts);
`nimbus serve conductor|scheduler|compute` would run one each. Every piece gets the same
transport and reaches other services over REST with the service user's token.
"""

from __future__ import annotations

import dataclasses
import functools

import httpx

from nimbus.compute import rpcapi
from nimbus.compute.conductor.manager import ConductorManager
from nimbus.compute.image_cache import ImageCache
from nimbus.compute.manager import ComputeAgent, ConductorHeartbeat
from nimbus.compute.ops.networking import Ports
from nimbus.compute.ops.volumes import Volumes
from nimbus.compute.scheduler.manager import SchedulerManager
from nimbus.compute.virt.driver import VirtDriver
from nimbus.compute.virt.fake import FakeDriver, FakeHostConfig
from nimbus.core import db
from nimbus.core.clients.image import ImageClient
from nimbus.core.clients.network import NetworkClient
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.clients.service_token import ServiceCredentials, ServiceTokenSource
from nimbus.core.clients.volume import VolumeClient
from nimbus.core.config import Settings
from nimbus.core.context import RequestContext
from nimbus.core.periodic import Periodic
from nimbus.core.rpc import RpcServer, Transport
from nimbus.core.service import DbHeartbeat, ServiceIdentity, ServiceRunner
from nimbus.dataplane import names

TRACKER_INTERVAL = 60.0
RECONCILE_INTERVAL = 300.0
STALLED_BUILDS_INTERVAL = 60.0


@dataclasses.dataclass
class RestClients:
    """What a background service uses to reach other services, as the service user."""

    tokens: ServiceTokenSource
    placement: PlacementClient
    images: ImageClient
    network: NetworkClient
    volumes: VolumeClient


def rest_clients(settings: Settings, http: httpx.AsyncClient, service_password: str) -> RestClients:
    tokens = ServiceTokenSource(settings.identity_base_url, ServiceCredentials(
        settings.identity.service_user, service_password), http)
    return RestClients(tokens=tokens,
                       placement=PlacementClient(http, f"{settings.base_url}/placement", tokens.token),
                       images=ImageClient(http, f"{settings.base_url}/image"),
                       network=NetworkClient(http, f"{settings.base_url}/network"),
                       volumes=VolumeClient(http, f"{settings.base_url}/volume"))


def fake_host_names(settings: Settings) -> list[str]:
    return [f"fake-{i}" for i in range(1, settings.fake_hosts + 1)]


@dataclasses.dataclass
class ComputeRuntime:
    services: list[ServiceRunner]
    agents: dict[str, tuple[ComputeAgent, ServiceRunner]]

    async def start(self) -> None:
        """Conductor and scheduler first: an agent reconciles through the conductor."""
        for runner in self.services:
            await runner.start()
        for agent, runner in self.agents.values():
            await agent.start()
            await runner.start()

    async def stop(self) -> None:
        for agent, runner in self.agents.values():
            await runner.stop()
            await agent.stop()
        for runner in reversed(self.services):
            await runner.stop()


def conductor_runner(settings: Settings, factory: db.SessionFactory, transport: Transport,
                     clients: RestClients) -> ServiceRunner:
    c = settings.compute
    manager = ConductorManager(factory, rpcapi.SchedulerAPI(transport),
                               rpcapi.ComputeAgentAPI(transport), clients.placement,
                               Ports(clients.network, clients.tokens.token),
                               Volumes(clients.volumes, clients.tokens.token),
                               max_attempts=c.max_attempts, build_timeout=c.build_timeout,
                               service_down_time=c.service_down_time,
                               default_zone=c.default_availability_zone,
                               allow_resize_to_same_host=c.allow_resize_to_same_host)
    server = RpcServer(transport, rpcapi.CONDUCTOR_TOPIC, settings.host_name, manager,
                       version=rpcapi.API_VERSION)
    # Often enough that a stalled build waits at most a quarter more than the timeout.
    every = min(STALLED_BUILDS_INTERVAL, c.build_timeout / 4)
    periodic = [Periodic("stalled-builds", manager.reconcile_builds, every)]
    if c.resize_confirm_window:
        window = c.resize_confirm_window
        periodic.append(Periodic("confirm-resizes", lambda: manager.confirm_stale_resizes(window),
                                 min(STALLED_BUILDS_INTERVAL, max(window / 4, 0.5))))
    return ServiceRunner(ServiceIdentity("nova-conductor", settings.host_name, "conductor"),
                         heartbeat=DbHeartbeat(factory), heartbeat_interval=c.heartbeat_interval,
                         servers=[server], periodic=periodic)


def scheduler_runner(settings: Settings, factory: db.SessionFactory, transport: Transport,
                     clients: RestClients) -> ServiceRunner:
    manager = SchedulerManager(factory, clients.placement, settings.compute)
    server = RpcServer(transport, rpcapi.SCHEDULER_TOPIC, settings.host_name, manager,
                       version=rpcapi.API_VERSION)
    return ServiceRunner(ServiceIdentity("nova-scheduler", settings.host_name, "scheduler"),
                         heartbeat=DbHeartbeat(factory),
                         heartbeat_interval=settings.compute.heartbeat_interval, servers=[server])


def agent_runner(settings: Settings, host: str, driver: VirtDriver, transport: Transport,
                 clients: RestClients) -> tuple[ComputeAgent, ServiceRunner]:
    conductor = rpcapi.ConductorAPI(transport)
    cache = ImageCache(settings.state_dir / "image-cache" / host, clients.images,
                       clients.tokens.token)
    agent = ComputeAgent(host, driver, conductor, clients.placement, cache,
                         Ports(clients.network, clients.tokens.token),
                         Volumes(clients.volumes, clients.tokens.token),
                         dataplane_ns=names.host_namespace(settings.state_dir))
    server = RpcServer(transport, rpcapi.COMPUTE_TOPIC, host, agent, version=rpcapi.API_VERSION)
    admin = RequestContext.admin()
    periodic = [Periodic("update-resources", lambda: agent.tracker.update(admin, force=True),
                         TRACKER_INTERVAL),
                Periodic("reconcile", lambda: agent.reconcile(admin), RECONCILE_INTERVAL)]
    c = settings.compute
    if c.shelved_offload_time > 0:
        periodic.append(Periodic("offload-shelved", functools.partial(
            agent.offload_shelved, admin, c.shelved_offload_time), c.shelved_poll_interval))
    runner = ServiceRunner(
        ServiceIdentity(rpcapi.COMPUTE_BINARY, host, rpcapi.COMPUTE_TOPIC),
        heartbeat=ConductorHeartbeat(conductor),
        heartbeat_interval=c.heartbeat_interval, servers=[server], periodic=periodic)
    return agent, runner


def all_in_one(settings: Settings, factory: db.SessionFactory, transport: Transport,
               clients: RestClients, drivers: dict[str, VirtDriver] | None = None) -> ComputeRuntime:
    """Conductor, scheduler and one agent per host; fake hosts unless drivers are given."""
    if drivers is None:
        c = settings.compute
        drivers = {h: FakeDriver(FakeHostConfig(hostname=h, vcpus=c.fake_vcpus,
                                                memory_mb=c.fake_memory_mb, disk_gb=c.fake_disk_gb))
                   for h in fake_host_names(settings)}
    services = [conductor_runner(settings, factory, transport, clients),
                scheduler_runner(settings, factory, transport, clients)]
    agents = {host: agent_runner(settings, host, driver, transport, clients)
              for host, driver in drivers.items()}
    return ComputeRuntime(services, agents)
