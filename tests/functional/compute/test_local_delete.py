"""Deleting a server whose host's compute service is down: as Nova's local delete, the server
goes at once with its ports, volume attachments and placement allocations, and the guest the
host still runs is destroyed when its agent starts again."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from nimbus.compute.manager import ComputeAgent
from nimbus.compute.virt.fake import FakeDriver
from nimbus.core.service import ServiceRow, ServiceRunner
from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, show, upload_image, usage, wait_for
from tests.functional.conftest import Cloud, running_cloud
from tests.functional.volume import helpers as vol

N = "/network/v2.0"
HOST = "fake-1"


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1,
                             volume_hosts=1) as running:
        yield running


async def _server_with_port_and_volume(cloud: Cloud,
                                       admin: dict[str, str]) -> tuple[str, str, str]:
    """An ACTIVE server on HOST with a port compute made and an attached volume; their ids."""
    net = await cloud.client.post(f"{N}/networks", headers=admin, json={"network": {"name": "n"}})
    net_id = net.json()["network"]["id"]
    await cloud.client.post(f"{N}/subnets", headers=admin, json={"subnet": {
        "network_id": net_id, "ip_version": 4, "cidr": "10.0.9.0/24"}})
    server_id = await boot(cloud, admin, await upload_image(cloud, admin),
                           networks=[{"uuid": net_id}])
    server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    volume = await vol.available_volume(cloud, admin)
    attached = await cloud.client.post(
        f"{V}/servers/{server_id}/os-volume_attachments",
        headers={**admin, "OpenStack-API-Version": "compute 2.79"},
        json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert attached.status_code == 200, attached.text
    [port] = (await cloud.client.get(f"{N}/ports", headers=admin,
                                     params={"device_id": server_id})).json()["ports"]
    return server_id, port["id"], volume["id"]


async def _stop_agent(cloud: Cloud) -> tuple[ComputeAgent, ServiceRunner, FakeDriver]:
    """HOST's agent stops (its hypervisor, and the guest on it, stay as they are)."""
    assert cloud.compute is not None
    agent, runner = cloud.compute.agents[HOST]
    assert isinstance(agent.driver, FakeDriver)
    await runner.stop()
    await agent.stop()
    return agent, runner, agent.driver


async def _nothing_held(cloud: Cloud, admin: dict[str, str], server_id: str, port_id: str,
                        volume_id: str) -> None:
    assert await show(cloud, admin, server_id) is None
    port = await cloud.client.get(f"{N}/ports/{port_id}", headers=admin)
    assert port.status_code == 404, port.text
    volume = await vol.show(cloud, admin, "volume", volume_id)
    assert volume is not None and volume["status"] == "available", volume
    assert volume["attachments"] == []
    assert sum((await usage(cloud, admin)).values()) == 0


async def _restart(agent: ComputeAgent, runner: ServiceRunner) -> None:
    await agent.start()
    await runner.start()


async def test_delete_on_a_host_whose_service_is_down_is_local(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id, port_id, volume_id = await _server_with_port_and_volume(cloud, admin)
    agent, runner, driver = await _stop_agent(cloud)
    long_ago = dt.datetime(2020, 1, 1)
    async with cloud.services.compute.write() as session:  # its heartbeats stopped long ago
        await session.execute(update(ServiceRow).where(ServiceRow.host == HOST).values(
            last_seen_up=long_ago, updated_at=long_ago))

    deleted = await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)

    assert deleted.status_code == 204, deleted.text
    await _nothing_held(cloud, admin, server_id, port_id, volume_id)
    assert server_id in driver.guests  # the host was not reached
    await _restart(agent, runner)
    assert server_id not in driver.guests


async def test_a_delete_lost_while_the_agent_was_away_finishes_once_its_service_is_down(
        cloud: Cloud) -> None:
    """The first delete still saw the service up, and its message went nowhere; once the
    service is forced down, a second delete finishes it locally rather than answering that
    it is already under way."""
    admin = await cloud.admin_headers()
    server_id, port_id, volume_id = await _server_with_port_and_volume(cloud, admin)
    agent, runner, driver = await _stop_agent(cloud)

    first = await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)
    stuck: dict[str, Any] | None = await show(cloud, admin, server_id)
    forced = await cloud.client.put(f"{V}/os-services/force-down", headers={
        **admin, "OpenStack-API-Version": "compute 2.11"}, json={
            "host": HOST, "binary": "nova-compute", "forced_down": True})
    second = await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)

    assert first.status_code == 204 and second.status_code == 204, second.text
    assert stuck is not None and stuck["OS-EXT-STS:task_state"] == "deleting"
    assert forced.status_code == 200, forced.text
    await _nothing_held(cloud, admin, server_id, port_id, volume_id)
    await _restart(agent, runner)
    assert server_id not in driver.guests


async def test_delete_of_an_offloaded_server_releases_its_ports_and_volumes(cloud: Cloud) -> None:
    """An offloaded server has no host but keeps its ports and volumes: as Nova, its delete
    is local and lets them go."""
    admin = await cloud.admin_headers()
    server_id, port_id, volume_id = await _server_with_port_and_volume(cloud, admin)
    shelved = await cloud.client.post(f"{V}/servers/{server_id}/action", json={"shelve": None},
                                      headers={**admin, "OpenStack-API-Version": "compute 2.79"})
    assert shelved.status_code == 202, shelved.text
    offloaded = await wait_for(cloud, admin, server_id, "SHELVED_OFFLOADED")
    assert offloaded is not None and offloaded["OS-EXT-SRV-ATTR:host"] is None

    deleted = await cloud.client.delete(f"{V}/servers/{server_id}", headers=admin)

    assert deleted.status_code == 204, deleted.text
    await _nothing_held(cloud, admin, server_id, port_id, volume_id)
