"""Server lists paged with marker and limit: the database's pages equal the filtered list's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, server_body, upload_image
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
