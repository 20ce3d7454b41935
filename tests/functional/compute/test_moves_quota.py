"""Quotas on resize, as Nova: growing past the project's cores or ram is refused (403) before
anything changes, and so is reverting a resize down once the project used what it freed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, set_quota, show, upload_image, wait_for
from tests.functional.compute.moves import action, migrations_of
from tests.functional.compute.users import member_token, project_of
from tests.functional.conftest import Cloud, running_cloud


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=2) as running:
        yield running


async def member_server(cloud: Cloud, flavor: str = "1") -> tuple[dict[str, str], str, str]:
    """A member's headers, project and active server of `flavor`."""
    token = await member_token(cloud)
    member = {"X-Auth-Token": token}
    image = await upload_image(cloud, await cloud.admin_headers())
    server_id = await boot(cloud, member, image, flavorRef=flavor)
    server = await wait_for(cloud, member, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    return member, await project_of(cloud, token), server_id


async def actions(cloud: Cloud, headers: dict[str, str], server_id: str) -> list[str]:
    listed = await cloud.client.get(f"{V}/servers/{server_id}/os-instance-actions",
                                    headers=headers)
    return [a["action"] for a in listed.json()["instanceActions"]]


async def test_resize_beyond_the_quota_is_forbidden_and_changes_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member, project, sid = await member_server(cloud)
    assert (await set_quota(cloud, project, cores=1, ram=1536)).status_code == 200

    cores = await action(cloud, member, sid, {"resize": {"flavorRef": "3"}})
    ram = await action(cloud, member, sid, {"resize": {"flavorRef": "2"}})

    assert cores.status_code == ram.status_code == 403
    assert cores.json() == {"forbidden": {"code": 403, "message": (
        "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores")}}
    assert ram.json()["forbidden"]["message"] == (
        "Quota exceeded for ram: Requested 1536, but already used 512 of 1536 ram")
    server = await show(cloud, member, sid)
    assert server is not None and server["status"] == "ACTIVE"
    assert server["OS-EXT-STS:task_state"] is None and server["flavor"]["original_name"] == "m1.tiny"
    assert await migrations_of(cloud, admin, sid) == []
    assert await actions(cloud, member, sid) == ["create"]
    # Within the quota the same resize goes ahead.
    assert (await set_quota(cloud, project, ram=2048)).status_code == 200
    assert (await action(cloud, member, sid, {"resize": {"flavorRef": "2"}})).status_code == 202
    resized = await wait_for(cloud, member, sid, "VERIFY_RESIZE", "ERROR")
    assert resized is not None and resized["status"] == "VERIFY_RESIZE", resized


async def test_revert_of_a_resize_down_must_fit_the_quota_again(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    made = await cloud.client.post(f"{V}/flavors", headers=admin, json={"flavor": {
        "name": "two-cores", "ram": 512, "vcpus": 2, "disk": 1, "id": "two-cores"}})
    assert made.status_code == 200, made.text
    member, project, sid = await member_server(cloud, "two-cores")
    assert (await set_quota(cloud, project, cores=3)).status_code == 200
    assert (await action(cloud, member, sid, {"resize": {"flavorRef": "1"}})).status_code == 202
    resized = await wait_for(cloud, member, sid, "VERIFY_RESIZE", "ERROR")
    assert resized is not None and resized["status"] == "VERIFY_RESIZE", resized
    # The two cores the resize freed go to another server.
    other = await boot(cloud, member, resized["image"]["id"], flavorRef="two-cores")
    assert await wait_for(cloud, member, other, "ACTIVE") is not None

    refused = await action(cloud, member, sid, {"revertResize": None})

    assert refused.status_code == 403
    assert refused.json()["forbidden"]["message"] == (
        "Quota exceeded for cores: Requested 1, but already used 3 of 3 cores")
    server: Any = await show(cloud, member, sid)
    assert server["status"] == "VERIFY_RESIZE" and server["OS-EXT-STS:task_state"] is None
    assert (await migrations_of(cloud, admin, sid))[0]["status"] == "finished"
    assert "revertResize" not in await actions(cloud, member, sid)
    # With the other server gone it fits again.
    assert (await cloud.client.delete(f"{V}/servers/{other}", headers=member)).status_code == 204
    assert await wait_for(cloud, member, other, "DELETED") is None
    assert (await action(cloud, member, sid, {"revertResize": None})).status_code == 202
    reverted = await wait_for(cloud, member, sid, "ACTIVE", "ERROR")
    assert reverted is not None and reverted["flavor"]["original_name"] == "two-cores"
