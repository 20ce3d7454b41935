"""os-hypervisors through /compute/v2.1: ids and shapes by microversion, servers, search."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

HOSTS = ("fake-1", "fake-2", "fake-3")
BRIEF = {"id", "hypervisor_hostname", "state", "status"}
DETAIL = BRIEF | {"hypervisor_type", "hypervisor_version", "host_ip", "service", "vcpus",
                  "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
                  "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
                  "disk_available_least", "cpu_info"}


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=len(HOSTS)) as running:
        yield running


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def get(cloud: Cloud, path: str, headers: dict[str, str], version: str = "2.1",
              status: int = 200) -> Any:
    resp = await cloud.client.get(f"{V}/os-hypervisors{path}", headers={**headers, **mv(version)})
    assert resp.status_code == status, resp.text
    return resp.json()


async def test_list_and_detail_before_and_after_2_53(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    old = (await get(cloud, "", admin))["hypervisors"]
    new = (await get(cloud, "", admin, "2.53"))["hypervisors"]
    detail = (await get(cloud, "/detail", admin, "2.53"))["hypervisors"]

    assert [h["hypervisor_hostname"] for h in old] == list(HOSTS)
    assert all(set(h) == BRIEF and isinstance(h["id"], int) for h in old)
    assert all(uuid.UUID(h["id"]) and h["state"] == "up" and h["status"] == "enabled" for h in new)
    first = detail[0]
    assert set(first) == DETAIL
    assert first["hypervisor_type"] == "fake" and first["cpu_info"] == {}
    assert (first["vcpus"], first["memory_mb"], first["vcpus_used"]) == (16, 32768, 0)
    assert first["free_ram_mb"] == 32768 and first["running_vms"] == 0
    assert first["service"]["host"] == "fake-1" and uuid.UUID(first["service"]["id"])
    assert first["service"]["disabled_reason"] is None


async def test_cpu_info_is_a_string_before_2_28(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    old = (await get(cloud, "/detail", admin, "2.27"))["hypervisors"][0]
    new = (await get(cloud, "/detail", admin, "2.28"))["hypervisors"][0]

    assert isinstance(old["cpu_info"], str)
    assert isinstance(new["cpu_info"], dict)
    assert isinstance(old["service"]["id"], int)


async def test_show_by_id_and_by_uuid(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    old = (await get(cloud, "", admin))["hypervisors"][1]
    new = (await get(cloud, "", admin, "2.53"))["hypervisors"][1]

    by_id = (await get(cloud, f"/{old['id']}", admin))["hypervisor"]
    by_uuid = (await get(cloud, f"/{new['id']}", admin, "2.53"))["hypervisor"]
    uuid_at_21 = await get(cloud, f"/{new['id']}", admin, status=404)
    int_at_253 = await get(cloud, f"/{old['id']}", admin, "2.53", status=400)
    missing = await get(cloud, f"/{uuid.uuid4()}", admin, "2.53", status=404)

    assert by_id["hypervisor_hostname"] == by_uuid["hypervisor_hostname"] == "fake-2"
    assert set(by_uuid) == DETAIL
    assert uuid_at_21["itemNotFound"]["message"] == (
        f"Hypervisor with ID '{new['id']}' could not be found.")
    assert int_at_253["badRequest"]["message"] == f"Invalid uuid {old['id']}"
    assert "could not be found" in missing["itemNotFound"]["message"]


async def test_with_servers_shows_the_servers_on_each_host(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin), name="on-a-host")
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None
    host = server["OS-EXT-SRV-ATTR:host"]

    at_253 = (await get(cloud, "?with_servers=true", admin, "2.53"))["hypervisors"]
    at_275 = (await get(cloud, "?with_servers=1", admin, "2.75"))["hypervisors"]
    without = (await get(cloud, "", admin, "2.75"))["hypervisors"]
    node = next(h for h in at_253 if h["hypervisor_hostname"] == host)
    shown = (await get(cloud, f"/{node['id']}?with_servers=yes", admin, "2.53"))["hypervisor"]

    assert node["servers"] == [{"name": "on-a-host", "uuid": server_id}]
    assert all("servers" not in h for h in at_253 if h["hypervisor_hostname"] != host)
    assert all("servers" in h for h in at_275)  # 2.75: an empty list rather than no key
    assert all("servers" not in h for h in without)
    assert shown["servers"] == [{"name": "on-a-host", "uuid": server_id}]


async def test_hostname_pattern_from_2_53(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    found = (await get(cloud, "?hypervisor_hostname_pattern=ke-2", admin, "2.53"))["hypervisors"]
    none = await get(cloud, "?hypervisor_hostname_pattern=zzz", admin, "2.53", status=404)
    paged = await get(cloud, "?hypervisor_hostname_pattern=fake&limit=1", admin, "2.53",
                      status=400)
    bad = await get(cloud, "?hypervisor_hostname_pattern=a%2Fb", admin, "2.53", status=400)
    unknown = await get(cloud, "?foo=bar", admin, "2.53", status=400)
    bad_bool = await get(cloud, "?with_servers=perhaps", admin, "2.53", status=400)

    assert [h["hypervisor_hostname"] for h in found] == ["fake-2"]
    assert none["itemNotFound"]["message"] == "No hypervisor matching 'zzz' could be found."
    assert "Paging over hypervisors" in paged["badRequest"]["message"]
    assert "hypervisor_hostname_pattern" in bad["badRequest"]["message"]
    assert "'foo' was unexpected" in unknown["badRequest"]["message"]
    assert "with_servers" in bad_bool["badRequest"]["message"]


async def test_search_and_servers_routes_before_2_53(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await boot(cloud, admin, await upload_image(cloud, admin), name="vm")
    server = await wait_for(cloud, admin, server_id, "ACTIVE")
    assert server is not None
    host = server["OS-EXT-SRV-ATTR:host"]

    searched = (await get(cloud, "/fake/search", admin))["hypervisors"]
    with_servers = (await get(cloud, f"/{host}/servers", admin))["hypervisors"]
    none = await get(cloud, "/nothing/search", admin, status=404)
    gone = await get(cloud, "/fake/search", admin, "2.53", status=404)
    gone_servers = await get(cloud, "/fake/servers", admin, "2.53", status=404)

    assert [h["hypervisor_hostname"] for h in searched] == list(HOSTS)
    assert all(set(h) == BRIEF for h in searched)
    assert with_servers == [{**with_servers[0], "servers": [{"name": "vm", "uuid": server_id}]}]
    assert "nothing" in none["itemNotFound"]["message"]
    assert gone["itemNotFound"]["code"] == gone_servers["itemNotFound"]["code"] == 404


async def test_pagination_from_2_33(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    first = await get(cloud, "?limit=2", admin, "2.33")
    marker = first["hypervisors"][-1]["id"]
    rest = await get(cloud, f"?limit=2&marker={marker}", admin, "2.33")
    uuids = await get(cloud, "/detail?limit=1", admin, "2.53")
    ignored = await get(cloud, "?limit=1", admin, "2.32")
    bad_marker = await get(cloud, "?marker=12345", admin, "2.33", status=400)
    bad_limit = await get(cloud, "?limit=-1", admin, "2.33", status=400)

    assert [h["hypervisor_hostname"] for h in first["hypervisors"]] == ["fake-1", "fake-2"]
    assert f"marker={marker}" in first["hypervisors_links"][0]["href"]
    assert "/os-hypervisors?" in first["hypervisors_links"][0]["href"]
    assert [h["hypervisor_hostname"] for h in rest["hypervisors"]] == ["fake-3"]
    assert "hypervisors_links" not in rest
    link = uuids["hypervisors_links"][0]["href"]
    assert "/os-hypervisors/detail?" in link and uuids["hypervisors"][0]["id"] in link
    assert len(ignored["hypervisors"]) == 3 and "hypervisors_links" not in ignored
    assert bad_marker["badRequest"]["message"] == "marker [12345] not found"
    assert "limit" in bad_limit["badRequest"]["message"]


async def test_statistics_sum_enabled_hosts(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await wait_for(cloud, admin, await boot(cloud, admin, await upload_image(cloud, admin)),
                            "ACTIVE")
    assert server is not None
    services = (await cloud.client.get(f"{V}/os-services?binary=nova-compute",
                                       headers={**admin, **mv("2.53")})).json()["services"]
    idle = next(s for s in services if s["host"] != server["OS-EXT-SRV-ATTR:host"])
    await cloud.client.put(f"{V}/os-services/{idle['id']}", headers={**admin, **mv("2.53")},
                           json={"status": "disabled"})

    stats = await _eventually_used(cloud, admin)

    assert stats["count"] == 2
    assert stats["vcpus"] == 32 and stats["memory_mb"] == 2 * 32768
    assert stats["vcpus_used"] == 1 and stats["memory_mb_used"] == 512
    assert stats["free_ram_mb"] == 2 * 32768 - 512 and stats["running_vms"] == 1


async def _eventually_used(cloud: Cloud, admin: dict[str, str]) -> dict[str, int]:
    """The resource tracker reports usage shortly after a build, not within it."""
    for _ in range(200):
        stats: dict[str, int] = (await get(cloud, "/statistics", admin))["hypervisor_statistics"]
        if stats["running_vms"]:
            return stats
        await asyncio.sleep(0.05)
    return stats


async def test_uptime_is_not_supported_by_the_fake_driver(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    hyp = (await get(cloud, "", admin))["hypervisors"][0]

    uptime = await get(cloud, f"/{hyp['id']}/uptime", admin, status=501)
    missing = await get(cloud, "/999/uptime", admin, status=404)

    assert uptime["notImplemented"]["message"] == "The requested functionality is not supported."
    assert missing["itemNotFound"]["code"] == 404


async def test_hypervisors_are_for_admins(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}

    for path in ("", "/detail", "/statistics", "/1"):
        assert (await get(cloud, path, member, status=403))["forbidden"]["code"] == 403
