"""Members of a hard server group booted at the same time still keep the group's policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.functional.compute.helpers import V, server_body, upload_image, wait_for
from tests.functional.conftest import Cloud, cloud_variants, running_cloud

HOSTS = 4


@pytest.fixture(params=cloud_variants())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend, bus = request.param
    async with running_cloud(backend, tmp_path, fake_hosts=HOSTS, bus=bus) as running:
        yield running


async def boot_members_at_once(cloud: Cloud, policy: str, count: int) -> list[str]:
    """`count` servers of a new group, each its own request, all sent together; their hosts."""
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    group = await cloud.client.post(f"{V}/os-server-groups", headers=admin, json={
        "server_group": {"name": "g", "policies": [policy]}})
    assert group.status_code == 200, group.text
    hints = {"os:scheduler_hints": {"group": group.json()["server_group"]["id"]}}
    latest = {**admin, "OpenStack-API-Version": "compute 2.79"}

    async def one(index: int) -> str:
        resp = await cloud.client.post(f"{V}/servers", headers=latest,
                                       json={**server_body(image, f"m{index}"), **hints})
        assert resp.status_code == 202, resp.text
        server_id: str = resp.json()["server"]["id"]
        return server_id

    server_ids = await asyncio.gather(*(one(i) for i in range(count)))
    hosts = []
    for server_id in server_ids:
        server = await wait_for(cloud, admin, server_id, "ACTIVE", "ERROR")
        assert server is not None and server["status"] == "ACTIVE", server.get("fault")
        hosts.append(server["OS-EXT-SRV-ATTR:host"])
    return hosts


async def test_anti_affinity_members_booted_together_land_on_distinct_hosts(cloud: Cloud) -> None:
    hosts = await boot_members_at_once(cloud, "anti-affinity", HOSTS)

    assert len(set(hosts)) == HOSTS, hosts


async def test_affinity_members_booted_together_share_one_host(cloud: Cloud) -> None:
    hosts = await boot_members_at_once(cloud, "affinity", HOSTS)

    assert len(set(hosts)) == 1, hosts
