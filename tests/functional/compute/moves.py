"""Shared steps of the move tests (test_moves*.py): actions at a microversion, an active server
(with a volume attached), os-migrations and a server's migrations, hosts forced down, live
migrations slowed down to be caught running."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from nimbus.compute.virt.fake import FakeDriver
from tests.functional.compute.helpers import V, boot, upload_image, wait_for
from tests.functional.conftest import Cloud
from tests.functional.volume import helpers as vol


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def action(cloud: Cloud, headers: dict[str, str], server_id: str, body: dict[str, Any],
                 version: str = "2.79") -> Any:
    return await cloud.client.post(f"{V}/servers/{server_id}/action", json=body,
                                   headers={**headers, **mv(version)})


async def migrations_of(cloud: Cloud, headers: dict[str, str], server_id: str,
                        version: str = "2.59") -> list[dict[str, Any]]:
    resp = await cloud.client.get(f"{V}/os-migrations?instance_uuid={server_id}",
                                  headers={**headers, **mv(version)})
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["migrations"]
    return found


async def active_server(cloud: Cloud, headers: dict[str, str]) -> dict[str, Any]:
    server = await wait_for(cloud, headers, await boot(cloud, headers,
                                                       await upload_image(cloud, headers)),
                            "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    return server


async def server_with_volume(cloud: Cloud, admin: dict[str, str]) -> tuple[str, str, str]:
    """An active server with a data volume attached: its id, its host, the volume's id."""
    server = await active_server(cloud, admin)
    volume = await vol.available_volume(cloud, admin)
    attached = await cloud.client.post(
        f"{V}/servers/{server['id']}/os-volume_attachments", headers=admin,
        json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert attached.status_code == 200, attached.text
    return server["id"], server["OS-EXT-SRV-ATTR:host"], volume["id"]


async def wait_migration(cloud: Cloud, headers: dict[str, str], server_id: str,
                         *statuses: str) -> dict[str, Any]:
    for _ in range(1500):
        found = await migrations_of(cloud, headers, server_id)
        if found and found[0]["status"] in statuses:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"migration of {server_id} never reached {statuses}: {found}")


def slow_live_migrations(cloud: Cloud) -> None:
    assert cloud.compute is not None
    for agent, _ in cloud.compute.agents.values():
        assert isinstance(agent.driver, FakeDriver)
        agent.driver.config = dataclasses.replace(agent.driver.config, migrate_delay=60.0)


async def running_live_migration(cloud: Cloud, admin: dict[str, str],
                                 sid: str) -> dict[str, Any]:
    assert (await action(cloud, admin, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto"}})).status_code == 202
    await wait_migration(cloud, admin, sid, "running")
    listed = await cloud.client.get(f"{V}/servers/{sid}/migrations", headers={**admin,
                                                                             **mv("2.23")})
    assert listed.status_code == 200, listed.text
    migrations: list[dict[str, Any]] = listed.json()["migrations"]
    [running] = migrations
    assert running["status"] == "running" and running["server_uuid"] == sid
    return running


async def force_down(cloud: Cloud, admin: dict[str, str], host: str, down: bool) -> str:
    found = await cloud.client.get(f"{V}/os-services?host={host}&binary=nova-compute",
                                   headers={**admin, **mv("2.53")})
    service_id: str = found.json()["services"][0]["id"]
    resp = await cloud.client.put(f"{V}/os-services/{service_id}", json={"forced_down": down},
                                  headers={**admin, **mv("2.53")})
    assert resp.status_code == 200, resp.text
    return service_id
