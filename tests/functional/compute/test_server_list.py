"""Server lists paged with marker and limit: the database's pages equal the filtered list's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, server_body, upload_image, wait_for
from tests.functional.conftest import Cloud, running_cloud

MV = {"OpenStack-API-Version": "compute 2.79"}


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1) as running:
        yield running


async def _listed(cloud: Cloud, headers: dict[str, str], **params: str) -> dict[str, Any]:
    resp = await cloud.client.get(f"{V}/servers/detail", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _walk(cloud: Cloud, headers: dict[str, str], limit: int, **params: str) -> list[str]:
    """Every page from the first, following the marker of each page's last server."""
    seen: list[str] = []
    marker: dict[str, str] = {}
    while True:
        page = (await _listed(cloud, headers, limit=str(limit), **params, **marker))["servers"]
        seen += [s["id"] for s in page]
        if len(page) < limit:
            return seen
        marker = {"marker": page[-1]["id"]}


async def test_server_pages_follow_the_order_of_the_whole_list(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **MV}
    image = await upload_image(cloud, admin)
    # One request: the servers share a created_at second, so uuids order them.
    created = await cloud.client.post(f"{V}/servers", headers=admin, json=server_body(
        image, name="vm", min_count=7, max_count=7))
    assert created.status_code == 202, created.text

    for direction in ("desc", "asc"):
        # A name filter is applied here rather than in SQL: the reference order.
        whole = [s["id"] for s in (await _listed(cloud, admin, name="vm",
                                                 sort_dir=direction))["servers"]]
        paged = await _walk(cloud, admin, 3, sort_key="created_at", sort_dir=direction)
        assert len(whole) == 7
        assert paged == whole


async def test_server_page_after_an_unknown_marker_is_400(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **MV}
    resp = await cloud.client.get(f"{V}/servers/detail", headers=admin, params={
        "marker": "3f5b1c1e-0000-4000-8000-000000000000", "limit": "2"})

    assert resp.status_code == 400 and "badRequest" in resp.json()


async def test_server_page_limit_links_to_the_next_page(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **MV}
    image = await upload_image(cloud, admin)
    await cloud.client.post(f"{V}/servers", headers=admin, json=server_body(
        image, name="vm", min_count=3, max_count=3))

    first = await _listed(cloud, admin, limit="2")

    assert len(first["servers"]) == 2
    assert f"marker={first['servers'][-1]['id']}" in first["servers_links"][0]["href"]


async def test_several_status_filters_match_a_server_in_any_of_them(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **MV}
    image = await upload_image(cloud, admin)
    active = await boot(cloud, admin, image, name="a")
    errored = await boot(cloud, admin, image, name="e")
    for server_id in (active, errored):
        assert await wait_for(cloud, admin, server_id, "ACTIVE")
    reset = await cloud.client.post(f"{V}/servers/{errored}/action", headers=admin,
                                    json={"os-resetState": {"state": "error"}})
    assert reset.status_code == 202

    async def ids(*statuses: str) -> set[str]:
        resp = await cloud.client.get(f"{V}/servers", headers=admin,
                                      params=[("status", s) for s in statuses])
        assert resp.status_code == 200, resp.text
        return {s["id"] for s in resp.json()["servers"]}

    # As Nova: any of the statuses; one Nova does not know adds nothing.
    assert await ids("ACTIVE", "ERROR") == {active, errored}
    assert await ids("error") == {errored}
    assert await ids("SHUTOFF", "ERROR", "NO-SUCH-STATUS") == {errored}
    assert await ids("NO-SUCH-STATUS") == set()
    # The next page keeps every filter.
    paged = await cloud.client.get(f"{V}/servers", headers=admin, params=[
        ("status", "ACTIVE"), ("status", "ERROR"), ("name", "a|e"), ("limit", "1")])
    assert "status=ACTIVE&status=ERROR&name=a%7Ce&limit=1&marker=" in \
        paged.json()["servers_links"][0]["href"]
