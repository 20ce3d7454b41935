"""Server API details where Nova is the contract, each found by running Tempest against Nimbus."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from nimbus.core.service import ServiceRow
from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, server_body, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1) as running:
        yield running


def mv(headers: dict[str, str], version: str) -> dict[str, str]:
    return {**headers, "OpenStack-API-Version": f"compute {version}"}


async def active_server(cloud: Cloud, headers: dict[str, str], **extra: Any) -> str:
    """A server of the caller's, booted from a public image the admin uploaded."""
    image = await upload_image(cloud, await cloud.admin_headers())
    server_id = await boot(cloud, headers, image, **extra)
    server = await wait_for(cloud, headers, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE"
    return server_id


async def test_access_ips_read_back_in_canonical_form(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin, accessIPv4="1.1.1.1",
                                    accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2")
    url = f"{V}/servers/{server_id}"

    shown = (await cloud.client.get(url, headers=admin)).json()["server"]
    updated = await cloud.client.put(url, headers=admin,
                                     json={"server": {"accessIPv6": "2001:DB8:0:0:0:0:0:1"}})

    assert (shown["accessIPv4"], shown["accessIPv6"]) == ("1.1.1.1", "::babe:dc0c:1602")
    assert updated.status_code == 200 and updated.json()["server"]["accessIPv6"] == "2001:db8::1"


async def test_invalid_access_ips_are_400_and_write_nothing(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    server_id = await active_server(cloud, admin)

    created = [await cloud.client.post(f"{V}/servers", headers=mv(admin, "2.37"),
                                       json=server_body(image, **{field: value}))
               for field, value in (("accessIPv4", "1.1.1.1.1"), ("accessIPv6", "2.2.2.2"),
                                    ("accessIPv4", "::1"), ("accessIPv6", "1:2:3:4:5:6:7:8:9"))]
    updated = await cloud.client.put(f"{V}/servers/{server_id}", headers=admin,
                                     json={"server": {"accessIPv4": "256.0.0.1"}})
    listed = (await cloud.client.get(f"{V}/servers", headers=admin)).json()["servers"]
    shown = (await cloud.client.get(f"{V}/servers/{server_id}", headers=admin)).json()["server"]

    assert [r.status_code for r in created] == [400] * 4
    assert all("badRequest" in r.json() for r in created)
    assert updated.status_code == 400 and "badRequest" in updated.json()
    assert [s["id"] for s in listed] == [server_id] and shown["accessIPv4"] == ""


async def test_update_answers_the_short_body_before_2_75(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}"

    old = await cloud.client.put(url, headers=mv(admin, "2.1"), json={"server": {"name": "a"}})
    new = await cloud.client.put(url, headers=mv(admin, "2.75"), json={"server": {"name": "b"}})

    assert old.status_code == new.status_code == 200
    short, full = old.json()["server"], new.json()["server"]
    extended = {"OS-EXT-STS:vm_state", "OS-EXT-AZ:availability_zone", "config_drive", "key_name",
                "OS-SRV-USG:launched_at", "os-extended-volumes:volumes_attached",
                "OS-EXT-SRV-ATTR:host"}
    assert short["name"] == "a" and not extended & short.keys()
    assert full["name"] == "b" and extended <= full.keys() and "server_groups" in full


async def test_detail_list_leaves_out_server_groups(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)

    shown = await cloud.client.get(f"{V}/servers/{server_id}", headers=mv(admin, "2.71"))
    listed = await cloud.client.get(f"{V}/servers/detail", headers=mv(admin, "2.71"))

    assert shown.json()["server"]["server_groups"] == []
    [detail] = listed.json()["servers"]
    assert detail["id"] == server_id and "server_groups" not in detail


async def test_compute_answers_carry_the_legacy_request_id_header(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    resp = await cloud.client.get(f"{V}/flavors", headers=admin)

    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    assert resp.headers["x-compute-request-id"].startswith("req-")


async def test_console_output_is_a_boot_log_tailed_as_nova_does(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}/action"

    async def output(length: int | None) -> str:
        resp = await cloud.client.post(url, headers=admin,
                                       json={"os-getConsoleOutput": {"length": length}})
        assert resp.status_code == 200, resp.text
        text: str = resp.json()["output"]
        return text

    full = await output(None)
    tail = await output(3)
    assert await output(0) == ""
    # Nova cuts the log at newlines and keeps the last `length` pieces, the empty one after
    # the final newline included.
    assert len(tail.split("\n")) == 3 and full.endswith(tail)
    assert len(full.split("\n")) > 10

    assert (await cloud.client.post(url, headers=admin,
                                    json={"reboot": {"type": "HARD"}})).status_code == 202
    await wait_for(cloud, admin, server_id, "ACTIVE")
    rebooted = await output(-1)
    assert rebooted.startswith(full) and rebooted.count("login:") == 2


async def test_disk_config_is_kept_shown_and_checked_against_the_image(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    refusing = await upload_image(cloud, admin, auto_disk_config="Disabled")

    headers = mv(admin, "2.37")
    created = await cloud.client.post(f"{V}/servers", headers=headers, json=server_body(
        image, **{"OS-DCF:diskConfig": "AUTO"}))
    server_id = created.json()["server"]["id"]
    shown = await wait_for(cloud, admin, server_id, "ACTIVE")
    updated = await cloud.client.put(f"{V}/servers/{server_id}", headers=admin,
                                     json={"server": {"OS-DCF:diskConfig": "MANUAL"}})
    bad_value = await cloud.client.post(f"{V}/servers", headers=headers, json=server_body(
        image, **{"OS-DCF:diskConfig": "auto"}))
    refused = await cloud.client.post(f"{V}/servers", headers=headers, json=server_body(
        refusing, **{"OS-DCF:diskConfig": "AUTO"}))
    defaulted = await cloud.client.post(f"{V}/servers", headers=headers,
                                        json=server_body(refusing))

    assert created.json()["server"]["OS-DCF:diskConfig"] == "AUTO"
    assert shown is not None and shown["OS-DCF:diskConfig"] == "AUTO"
    assert updated.json()["server"]["OS-DCF:diskConfig"] == "MANUAL"
    assert bad_value.status_code == 400 and "badRequest" in bad_value.json()
    assert refused.status_code == 400
    assert "automatic disk resize disabled" in refused.json()["badRequest"]["message"]
    assert defaulted.json()["server"]["OS-DCF:diskConfig"] == "MANUAL"


async def test_restore_finds_no_soft_deleted_server(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)

    live = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=admin,
                                   json={"restore": None})
    missing = await cloud.client.post(f"{V}/servers/{'0' * 8}-0000-4000-8000-{'0' * 12}/action",
                                      headers=admin, json={"restore": None})

    assert live.status_code == 409 and "conflictingRequest" in live.json()
    assert missing.status_code == 404 and "itemNotFound" in missing.json()


async def test_admin_resets_a_servers_state(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}/action"

    errored = await cloud.client.post(url, headers=admin, json={"os-resetState": {"state": "error"}})
    in_error = await cloud.client.get(f"{V}/servers?status=ERROR", headers=admin)
    shown = await wait_for(cloud, admin, server_id, "ERROR")
    bad = await cloud.client.post(url, headers=admin, json={"os-resetState": {"state": "paused"}})
    missing = await cloud.client.post(f"{V}/servers/{'0' * 8}-0000-4000-8000-{'0' * 12}/action",
                                      headers=admin, json={"os-resetState": {"state": "active"}})
    back = await cloud.client.post(url, headers=admin, json={"os-resetState": {"state": "active"}})
    actions = await cloud.client.get(f"{V}/servers/{server_id}/os-instance-actions", headers=admin)

    assert errored.status_code == 202 and errored.content == b""
    assert [s["id"] for s in in_error.json()["servers"]] == [server_id]
    assert shown is not None and shown["OS-EXT-STS:task_state"] is None
    assert bad.status_code == 400 and "badRequest" in bad.json()
    assert missing.status_code == 404
    assert back.status_code == 202
    assert await wait_for(cloud, admin, server_id, "ACTIVE")
    names = [a["action"] for a in actions.json()["instanceActions"]]
    assert names.count("resetState") == 2


async def test_only_admins_reset_state(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await active_server(cloud, member)

    refused = await cloud.client.post(f"{V}/servers/{server_id}/action", headers=member,
                                      json={"os-resetState": {"state": "error"}})

    assert refused.status_code == 403 and "forbidden" in refused.json()


async def test_a_private_flavor_boots_only_where_it_is_shared(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    flavor = {"name": "private", "ram": 256, "vcpus": 1, "disk": 1, "id": "private-boot",
              "os-flavor-access:is_public": False}
    assert (await cloud.client.post(f"{V}/flavors", headers=admin,
                                    json={"flavor": flavor})).status_code == 200
    token = await member_token(cloud)
    member = {"X-Auth-Token": token}
    project_id = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})).json()["token"]["project"]["id"]
    body = server_body(image, flavorRef="private-boot")

    refused = await cloud.client.post(f"{V}/servers", headers=mv(member, "2.37"), json=body)
    listed = await cloud.client.get(f"{V}/servers", headers=member)
    by_admin = await cloud.client.post(f"{V}/servers", headers=mv(admin, "2.37"), json=body)
    await cloud.client.post(f"{V}/flavors/private-boot/action", headers=admin,
                            json={"addTenantAccess": {"tenant": project_id}})
    shared = await cloud.client.post(f"{V}/servers", headers=mv(member, "2.37"), json=body)

    assert refused.status_code == 400 and "badRequest" in refused.json()
    assert listed.json()["servers"] == []
    assert by_admin.status_code == 202 and shared.status_code == 202


async def test_host_status_shows_to_admins_from_2_16_and_follows_the_compute_service(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}"

    before = (await cloud.client.get(url, headers=mv(admin, "2.15"))).json()["server"]
    shown = (await cloud.client.get(url, headers=mv(admin, "2.16"))).json()["server"]
    [listed] = (await cloud.client.get(f"{V}/servers/detail",
                                       headers=mv(admin, "2.16"))).json()["servers"]
    updated = (await cloud.client.put(url, headers=mv(admin, "2.75"),
                                      json={"server": {"name": "b"}})).json()["server"]
    disabled = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                      json={"host": shown["OS-EXT-SRV-ATTR:host"],
                                            "binary": "nova-compute"})
    in_maintenance = (await cloud.client.get(url, headers=mv(admin, "2.16"))).json()["server"]
    own = await boot(cloud, member, await upload_image(cloud, admin))
    member_view = await cloud.client.get(f"{V}/servers/{own}", headers=mv(member, "2.16"))

    assert "host_status" not in before
    assert shown["host_status"] == listed["host_status"] == updated["host_status"] == "UP"
    assert disabled.status_code == 200, disabled.text
    assert in_maintenance["host_status"] == "MAINTENANCE"
    assert member_view.status_code == 200 and "host_status" not in member_view.json()["server"]


async def test_host_status_is_down_unknown_or_empty_as_novas(cloud: Cloud) -> None:
    """DOWN when the host's service is forced down, UNKNOWN when it stopped reporting, ""
    for a server on no host; the 2.75 rebuild answer carries it too."""
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}"
    image = await upload_image(cloud, admin)
    huge = {"name": "huge", "ram": 40000, "vcpus": 1, "disk": 1, "id": "huge"}
    assert (await cloud.client.post(f"{V}/flavors", headers=admin,
                                    json={"flavor": huge})).status_code == 200
    unplaced = await cloud.client.post(f"{V}/servers", headers=mv(admin, "2.37"),
                                       json=server_body(image, flavorRef="huge"))  # no host fits
    unplaced_server = await wait_for(cloud, admin, unplaced.json()["server"]["id"], "ERROR")
    assert unplaced_server is not None and unplaced_server["OS-EXT-SRV-ATTR:host"] is None

    async def status(server: str = server_id) -> Any:
        return (await cloud.client.get(f"{V}/servers/{server}",
                                       headers=mv(admin, "2.16"))).json()["server"]["host_status"]

    rebuilt = await cloud.client.post(f"{url}/action", headers=mv(admin, "2.75"),
                                      json={"rebuild": {"imageRef": image}})
    host = rebuilt.json()["server"]["OS-EXT-SRV-ATTR:host"]
    await wait_for(cloud, admin, server_id, "ACTIVE")
    await cloud.client.put(f"{V}/os-services/force-down", headers=mv(admin, "2.11"), json={
        "host": host, "binary": "nova-compute", "forced_down": True})
    forced_down = await status()
    await cloud.client.put(f"{V}/os-services/force-down", headers=mv(admin, "2.11"), json={
        "host": host, "binary": "nova-compute", "forced_down": False})
    long_ago = dt.datetime(2020, 1, 1)
    async with cloud.services.compute.write() as session:
        await session.execute(update(ServiceRow).where(ServiceRow.host == host).values(
            last_seen_up=long_ago))
    silent = await status()

    assert rebuilt.status_code == 202, rebuilt.text
    assert rebuilt.json()["server"]["host_status"] == "UP"
    assert forced_down == "DOWN" and silent == "UNKNOWN"
    assert await status(unplaced.json()["server"]["id"]) == ""
