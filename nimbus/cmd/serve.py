"""`nimbus serve conductor|scheduler|compute|volume-scheduler|volume|network-agent`: one background service
in this process, for a multi-node cloud. They share the database (conductor, scheduler,
volume-scheduler) and the bus (all), and reach the APIs over REST at `public_url` with the
service user's token. Compute and volume hosts never open the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import httpx
from rich.console import Console

from nimbus.cmd import apps, hosts, network_runtime, runtime, state, volume_runtime
from nimbus.cmd.up import SERVICES
from nimbus.core.config import Settings
from nimbus.core.logs import setup_logging
from nimbus.core.rpc import transport_from_url
from nimbus.core.service import ServiceRunner
from nimbus.dataplane import host as dataplane_host

LOG = logging.getLogger("nimbus.cmd")

BACKGROUND = ("conductor", "scheduler", "compute", "volume-scheduler", "volume", "network-agent")
_HOSTS = ("compute", "volume", "network-agent")


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_background(settings: Settings, console: Console, service: str, host: str) -> None:
    state.ensure_state_dir(settings)
    setup_logging(settings.log_dir, SERVICES, level=settings.log_level,
                  console=settings.log_to_console)
    password = state.service_password(settings)
    transport = transport_from_url(settings.transport_url)
    database = apps.open_database(settings) if service not in _HOSTS else None
    async with httpx.AsyncClient() as http:
        clients = runtime.rest_clients(settings, http, password)
        agent = None
        volume_manager = None
        if service == "conductor":
            assert database is not None
            runner: ServiceRunner = runtime.conductor_runner(settings, database.factory, transport,
                                                             clients)
        elif service == "scheduler":
            assert database is not None
            runner = runtime.scheduler_runner(settings, database.factory, transport, clients)
        elif service == "volume-scheduler":
            assert database is not None
            runner = volume_runtime.scheduler_runner(settings, database.factory, transport)
        elif service == "network-agent":
            lacking = dataplane_host.missing()
            if lacking:
                raise SystemExit(f"the network agent needs {', '.join(lacking)}")
            _, runner = network_runtime.agent_runner(settings, clients)
        elif service == "volume":
            volume_manager, runner = volume_runtime.manager_runner(settings, host, transport,
                                                                   clients)
        else:
            driver = hosts.make_driver(settings, host, settings.compute.driver)
            agent, runner = runtime.agent_runner(settings, host, driver, transport, clients)
        try:
            if agent is not None:
                await agent.start()
            await runner.start()
            if volume_manager is not None:
                await volume_manager.start()
            console.print(f"[bold green]nimbus-{service}[/] serving on {host} "
                          f"({settings.transport_url.split('://')[0]})")
            LOG.info("nimbus-%s serving on %s", service, host)
            await _until_signalled()
        finally:
            with contextlib.suppress(Exception):
                await runner.stop()
            if agent is not None:
                await agent.stop()
            await transport.aclose()
            if database is not None:
                await database.aclose()
            console.print(f"nimbus-{service} stopped.")
