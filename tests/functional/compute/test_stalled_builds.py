"""Builds whose RPC messages were lost end ACTIVE or ERROR: the conductor's reconciliation."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from nimbus.compute.conductor import stalled_builds
from nimbus.compute.conductor.manager import ConductorManager
from nimbus.compute.models import InstanceRow
from nimbus.core.config import ComputeSettings
from nimbus.core.context import RequestContext
from nimbus.core.rpc import Transport
from tests.functional.compute.helpers import (
    HOSTS,
    V,
    boot,
    drivers,
    show,
    upload_image,
    usage,
    wait_for,
)
from tests.functional.compute.lossy import LossyTransport
from tests.functional.conftest import Cloud, cloud_variants, running_cloud

# Short enough for a test, long enough that a healthy fake build never looks stalled.
TIMEOUT = 2.0


@pytest.fixture(params=cloud_variants())
def variant(request: pytest.FixtureRequest) -> tuple[str, str]:
    backend, bus = request.param
    return backend, bus


@asynccontextmanager
async def lossy_cloud(variant: tuple[str, str], tmp_path: Path, *, build_timeout: float = TIMEOUT,
                      max_attempts: int = 3) -> AsyncIterator[tuple[Cloud, LossyTransport]]:
    wrapped: list[LossyTransport] = []

    def wrap(inner: Transport) -> Transport:
        wrapped.append(LossyTransport(inner))
        return wrapped[0]

    backend, bus = variant
    settings = ComputeSettings(build_timeout=build_timeout, max_attempts=max_attempts)
    async with running_cloud(backend, tmp_path, fake_hosts=HOSTS, bus=bus,
                             compute_settings=settings, wrap_transport=wrap) as cloud:
        yield cloud, wrapped[0]


async def events(cloud: Cloud, headers: dict[str, str], server_id: str) -> list[tuple[str, str]]:
    """(event, result) of the server's create action, in order."""
    actions = (await cloud.client.get(f"{V}/servers/{server_id}/os-instance-actions",
                                      headers=headers)).json()["instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    detail = (await cloud.client.get(
        f"{V}/servers/{server_id}/os-instance-actions/{create['request_id']}",
        headers={**headers, "OpenStack-API-Version": "compute 2.62"})).json()["instanceAction"]
    return [(e["event"], e["result"]) for e in sorted(detail["events"],
                                                      key=lambda e: e["start_time"])]


def conductor(cloud: Cloud) -> ConductorManager:
    assert cloud.compute is not None
    manager = cloud.compute.services[0].servers[0].endpoint  # type: ignore[attr-defined]
    assert isinstance(manager, ConductorManager)
    return manager


async def test_lost_cast_to_the_conductor_is_scheduled_again(variant: tuple[str, str],
                                                             tmp_path: Path) -> None:
    async with lossy_cloud(variant, tmp_path) as (cloud, bus):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        bus.lose("schedule_and_build_instances", times=1)

        server_id = await boot(cloud, admin, image)
        server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR", timeout=30)

        assert len(bus.lost) == 1
        assert server is not None and server["status"] == "ACTIVE", server
        assert (stalled_builds.EVENT, "Success") in await events(cloud, admin, server_id)
        assert sum((await usage(cloud, admin)).values()) == 1


async def test_build_casts_lost_on_every_host_end_in_error_without_allocations(
        variant: tuple[str, str], tmp_path: Path) -> None:
    async with lossy_cloud(variant, tmp_path, max_attempts=2) as (cloud, bus):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        bus.lose("build_and_run_instance")

        server_id = await boot(cloud, admin, image)
        server = await wait_for(cloud, admin, server_id, "ERROR", "ACTIVE", timeout=30)

        assert server is not None and server["status"] == "ERROR", server
        assert "Exceeded maximum number of retries" in server["fault"]["message"]
        assert "never acknowledged" in server["fault"]["message"]
        assert len({m.target.server for m in bus.lost}) == 2  # tried on two hosts
        assert sum((await usage(cloud, admin)).values()) == 0
        reconciled = [e for e in await events(cloud, admin, server_id)
                      if e[0] == stalled_builds.EVENT]
        assert reconciled == [(stalled_builds.EVENT, "Error")] * 2


async def test_build_hung_on_a_live_host_times_out_to_error(variant: tuple[str, str],
                                                           tmp_path: Path) -> None:
    async with lossy_cloud(variant, tmp_path) as (cloud, _):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        for driver in drivers(cloud).values():
            driver.config = dataclasses.replace(driver.config, spawn_delay=TIMEOUT * 3)

        server_id = await boot(cloud, admin, image)
        server = await wait_for(cloud, admin, server_id, "ERROR", "ACTIVE", timeout=30)

        assert server is not None and server["status"] == "ERROR", server
        assert "timed out" in server["fault"]["message"]
        assert sum((await usage(cloud, admin)).values()) == 0
        # The hung spawn finishes later, finds the instance in ERROR and destroys its guest.
        await builds_finished(cloud, admin, server_id, count=1)
        assert all(server_id not in d.guests for d in drivers(cloud).values())


async def builds_finished(cloud: Cloud, headers: dict[str, str], server_id: str, *,
                          count: int) -> list[str]:
    """Wait until `count` build events on hosts have finished; their results."""
    deadline = time.monotonic() + TIMEOUT * 5
    while True:
        builds = [r for e, r in await events(cloud, headers, server_id)
                  if e == "compute__do_build_and_run_instance"]
        if len(builds) == count and all(builds):
            return builds
        assert time.monotonic() < deadline, builds
        await asyncio.sleep(0.1)


async def test_build_on_a_host_that_went_down_is_rescheduled(variant: tuple[str, str],
                                                            tmp_path: Path) -> None:
    async with lossy_cloud(variant, tmp_path) as (cloud, _):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        for driver in drivers(cloud).values():
            driver.config = dataclasses.replace(driver.config, spawn_delay=TIMEOUT * 3)
        server_id = await boot(cloud, admin, image)
        deadline = time.monotonic() + 30
        while (server := await show(cloud, admin, server_id)) is None \
                or server["OS-EXT-STS:task_state"] != "spawning":
            assert time.monotonic() < deadline, server
            await asyncio.sleep(0.02)
        first = server["OS-EXT-SRV-ATTR:host"]
        for host, driver in drivers(cloud).items():
            if host != first:
                driver.config = dataclasses.replace(driver.config, spawn_delay=0)
        v253 = {**admin, "OpenStack-API-Version": "compute 2.53"}
        services = (await cloud.client.get(f"{V}/os-services?binary=nova-compute&host={first}",
                                           headers=v253)).json()["services"]
        down = await cloud.client.put(f"{V}/os-services/{services[0]['id']}",
                                      json={"forced_down": True}, headers=v253)
        assert down.status_code == 200, down.text

        server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR", timeout=30)

        assert server is not None and server["status"] == "ACTIVE", server
        assert server["OS-EXT-SRV-ATTR:host"] != first
        used = await usage(cloud, admin)
        assert used[server["OS-EXT-SRV-ATTR:host"]] == 1 and sum(used.values()) == 1
        # The first host's spawn ends, finds the instance gone elsewhere and destroys its guest.
        assert sorted(await builds_finished(cloud, admin, server_id, count=2)) == [
            "Error", "Success"]
        assert server_id not in drivers(cloud)[first].guests
        assert server_id in drivers(cloud)[server["OS-EXT-SRV-ATTR:host"]].guests


async def test_two_conductors_act_on_a_stalled_build_once(variant: tuple[str, str],
                                                          tmp_path: Path) -> None:
    # The cloud's own conductor waits an hour: the two below are the only ones acting.
    async with lossy_cloud(variant, tmp_path, build_timeout=3600) as (cloud, bus):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        bus.lose("schedule_and_build_instances", times=1)
        server_id = await boot(cloud, admin, image)
        await asyncio.sleep(1.1)  # updated_at has a one-second resolution
        one = conductor(cloud)
        other = copy.copy(one)  # a second conductor process on the same database and bus

        taken = await asyncio.gather(*(stalled_builds.reconcile(
            c, RequestContext.admin(), timeout=0, service_down_time=60) for c in (one, other)))

        assert sorted(taken) == [0, 1]
        server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR", timeout=30)
        assert server is not None and server["status"] == "ACTIVE", server
        reconciled = [e for e in await events(cloud, admin, server_id)
                      if e[0] == stalled_builds.EVENT]
        assert reconciled == [(stalled_builds.EVENT, "Success")]


async def test_build_stalled_again_after_its_redrive_ends_in_error(variant: tuple[str, str],
                                                                   tmp_path: Path) -> None:
    async with lossy_cloud(variant, tmp_path) as (cloud, bus):
        admin = await cloud.admin_headers()
        image = await upload_image(cloud, admin)
        bus.lose("schedule_and_build_instances", times=1)
        server_id = await boot(cloud, admin, image)
        # As a conductor that re-drove it and died before asking the scheduler would leave it.
        async with cloud.services.compute.write() as session:
            row = await session.get(InstanceRow, server_id)
            assert row is not None
            row.request_spec = {**row.request_spec, "redriven": True}

        server = await wait_for(cloud, admin, server_id, "ERROR", "ACTIVE", timeout=30)

        assert server is not None and server["status"] == "ERROR", server
        assert server["fault"]["message"] == (
            f"Scheduling of instance {server_id} made no progress for {TIMEOUT:g} seconds.")
        assert sum((await usage(cloud, admin)).values()) == 0
        assert (stalled_builds.EVENT, "Error") in await events(cloud, admin, server_id)
