"""`nimbus up`: the all-in-one cloud in one process, in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os

import uvicorn
from rich.console import Console

from nimbus.cmd import apps, hosts, network_runtime, runtime, state, volume_runtime
from nimbus.cmd.loopback import LoopbackClient
from nimbus.core.config import Settings
from nimbus.core.logs import setup_logging
from nimbus.core.rpc import transport_from_url
from nimbus.core.service import DbHeartbeat, ServiceIdentity, ServiceRunner
from nimbus.dataplane import host as dataplane_host
from nimbus.network.agent.agent import NetworkAgent

LOG = logging.getLogger("nimbus.cmd")

SERVICES = ["identity", "compute", "placement", "image", "network", "volume", "core", "cmd"]


async def prepare(settings: Settings, console: Console) -> tuple[apps.Database, dict[str, str]]:
    """Migrate and bootstrap (idempotent); returns the open database and the secrets."""
    state.ensure_state_dir(settings)
    setup_logging(settings.log_dir, SERVICES, level=settings.log_level,
                  console=settings.log_to_console)
    secrets = state.load_or_create_secrets(settings)
    database = apps.open_database(settings)
    with console.status("migrating the database"):
        await apps.migrate_all(database)
    console.print(f"[green]✓[/] database migrated ({settings.database_url.split('://')[0]})")
    with console.status("bootstrapping: domain, admin, roles, catalog, flavors"):
        await apps.bootstrap_all(settings, database, admin_password=secrets["admin_password"],
                                 service_password=secrets["service_password"])
    clouds = state.write_clouds_yaml(settings, secrets["admin_password"])
    console.print(f"[green]✓[/] bootstrapped; credentials in {clouds}")
    return database, secrets


async def _start_network_agent(settings: Settings, console: Console,
                               clients: runtime.RestClients, compute: runtime.ComputeRuntime
                               ) -> tuple[NetworkAgent, ServiceRunner] | None:
    wanted = settings.network.dataplane
    if wanted is None:
        wanted = any(agent.driver.needs_dataplane for agent, _ in compute.agents.values())
        if not wanted:
            return None
    lacking = dataplane_host.missing()
    if not wanted or lacking:
        why = "switched off" if not wanted else f"needs {', '.join(lacking)}"
        console.print(f"[yellow]-[/] network agent not started ({why}): no dataplane")
        return None
    agent, runner = network_runtime.agent_runner(settings, clients)
    await runner.start()
    console.print(f"[green]✓[/] network agent: dataplane in namespace {agent.host_ns}")
    return agent, runner


async def run_all_in_one(settings: Settings, console: Console, *, with_compute: bool = True) -> None:
    """Every API on one port; with_compute also runs conductor, scheduler and the fake hosts
    in this process (`nimbus up`), without it only the APIs (`nimbus serve api`)."""
    database, secrets = await prepare(settings, console)
    # For benchmarks and operators: which process serves this state directory.
    (settings.state_dir / "nimbus.pid").write_text(f"{os.getpid()}\n")
    transport = transport_from_url(settings.transport_url)
    # Services call each other by REST, as they would across machines; here the requests go
    # into this process's own app without sockets (see loopback.py).
    async with LoopbackClient(settings.base_url) as http:
        built = apps.services(settings, database, transport, http)
        app = apps.all_in_one_app(built)
        http.app = app
        runner = ServiceRunner(ServiceIdentity("nimbus-api", host=settings.host_name, topic=None),
                               heartbeat=DbHeartbeat(database.factory),
                               periodic=apps.api_periodic_jobs(built))
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                                access_log=False, loop="uvloop", http="httptools",
                                lifespan="off", timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        await runner.start()
        serve = runner.tasks.start(server.serve(), name="http")
        # uvicorn offers a flag, not an event, for "listening".
        while not server.started and not serve.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        clients = runtime.rest_clients(settings, http, secrets["service_password"])
        compute = (runtime.all_in_one(settings, database.factory, transport, clients,
                                      drivers=hosts.up_drivers(settings))
                   if with_compute else runtime.ComputeRuntime([], {}))
        volume = (volume_runtime.all_in_one(settings, database.factory, transport, clients)
                  if with_compute else volume_runtime.VolumeRuntime([], {}))
        network_agent: tuple[NetworkAgent, ServiceRunner] | None = None
        try:
            if server.started:
                if with_compute:
                    if any(a.driver.needs_dataplane for a, _ in compute.agents.values()):
                        await _offer_guest_image(settings, console, clients)
                    with console.status(f"starting conductor, scheduler and "
                                        f"{len(compute.agents)} compute hosts"):
                        await compute.start()
                    console.print(f"[green]✓[/] compute: conductor, scheduler, "
                                  f"{len(compute.agents)} hosts ({', '.join(compute.agents)})")
                    with console.status("starting the volume scheduler and volume hosts"):
                        await volume.start()
                    console.print(f"[green]✓[/] volume: scheduler, {len(volume.managers)} hosts "
                                  f"({', '.join(volume.managers)})")
                    network_agent = await _start_network_agent(settings, console, clients, compute)
                clouds = settings.state_dir.resolve() / "clouds.yaml"
                console.print(f"[bold green]Nimbus is ready[/] at {settings.base_url}  —  "
                              f"export OS_CLIENT_CONFIG_FILE={clouds} OS_CLOUD=nimbus", soft_wrap=True)
                LOG.info("all-in-one ready at %s", settings.base_url)
            await asyncio.shield(serve)
        finally:
            if network_agent is not None:
                await network_agent[1].stop()
            await volume.stop()
            await compute.stop()
            if network_agent is not None and await network_agent[0].teardown_if_idle():
                console.print("network dataplane removed (no guest was plugged in)")
            await runner.stop()
            await transport.aclose()
            await database.aclose()
            console.print("Nimbus stopped.")


async def _offer_guest_image(settings: Settings, console: Console,
                             clients: runtime.RestClients) -> None:
    """A real hypervisor needs a bootable image: the test guest, built and uploaded once.
    Without one (no apt, no network) the cloud still starts, and says why."""
    name = settings.compute.qemu.guest_image_name
    with console.status(f"offering the test guest image {name} (built once, then cached)"):
        try:
            image_id = await hosts.register_guest_image(settings, clients)
        except Exception as exc:  # the cloud is useful without it; the operator is told
            LOG.warning("no %s image: %s", name, exc)
            console.print(f"[yellow]![/] no {name} image: {exc}")
            return
    console.print(f"[green]✓[/] image {name} ({image_id})")
