"""os-services through /compute/v2.1: list, the pre-2.53 actions, 2.53 updates, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from nimbus.compute.models import ComputeNodeRow
from nimbus.core.service import ServiceRow
from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud

HOSTS = ("fake-1", "fake-2")


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=len(HOSTS)) as running:
        yield running


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def services(cloud: Cloud, headers: dict[str, str], version: str = "2.1",
                   query: str = "") -> list[dict[str, Any]]:
    resp = await cloud.client.get(f"{V}/os-services{query}", headers={**headers, **mv(version)})
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["services"]
    return found


async def compute_service(cloud: Cloud, headers: dict[str, str], host: str,
                          version: str = "2.53") -> dict[str, Any]:
    found = await services(cloud, headers, version, f"?host={host}&binary=nova-compute")
    assert len(found) == 1
    return found[0]


async def test_list_shows_every_service_with_state_and_zone(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    at_21 = await services(cloud, admin)
    at_253 = await services(cloud, admin, "2.53")

    by_binary: dict[str, list[dict[str, Any]]] = {}
    for svc in at_21:
        by_binary.setdefault(svc["binary"], []).append(svc)
    assert sorted(s["host"] for s in by_binary["nova-compute"]) == list(HOSTS)
    assert {"nova-conductor", "nova-scheduler"} <= set(by_binary)
    assert "nimbus-api" not in by_binary  # API processes are not RPC services (as Nova)
    compute = by_binary["nova-compute"][0]
    assert set(compute) == {"id", "binary", "host", "zone", "status", "state", "updated_at",
                            "disabled_reason"}
    assert isinstance(compute["id"], int)
    assert (compute["zone"], compute["status"], compute["state"]) == ("nova", "enabled", "up")
    assert compute["disabled_reason"] is None and compute["updated_at"]
    assert {s["zone"] for s in by_binary["nova-conductor"]} == {"internal"}
    assert all(len(s["id"]) == 36 and s["forced_down"] is False for s in at_253)


async def test_list_filters_by_host_and_binary(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    by_host = await services(cloud, admin, query="?host=fake-2")
    by_binary = await services(cloud, admin, query="?binary=nova-compute")
    nothing = await services(cloud, admin, query="?host=nowhere")

    assert [(s["host"], s["binary"]) for s in by_host] == [("fake-2", "nova-compute")]
    assert sorted(s["host"] for s in by_binary) == list(HOSTS)
    assert nothing == []


async def test_unknown_query_parameters_are_refused_from_2_75(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    old = await cloud.client.get(f"{V}/os-services?foo=1", headers={**admin, **mv("2.74")})
    new = await cloud.client.get(f"{V}/os-services?foo=1", headers={**admin, **mv("2.75")})

    assert old.status_code == 200
    assert new.status_code == 400
    assert "'foo' was unexpected" in new.json()["badRequest"]["message"]


async def test_services_are_for_admins(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}

    listed = await cloud.client.get(f"{V}/os-services", headers=member)
    deleted = await cloud.client.delete(f"{V}/os-services/1", headers=member)

    assert listed.status_code == 403 and "forbidden" in listed.json()
    assert deleted.status_code == 403


async def test_legacy_disable_with_reason_and_enable(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    target = {"host": "fake-2", "binary": "nova-compute"}

    disabled = await cloud.client.put(f"{V}/os-services/disable-log-reason", headers=admin,
                                      json={**target, "disabled_reason": "maintenance"})
    shown = (await services(cloud, admin, query="?host=fake-2"))[0]
    plain = await cloud.client.put(f"{V}/os-services/disable", headers=admin, json=target)
    enabled = await cloud.client.put(f"{V}/os-services/enable", headers=admin, json=target)

    assert disabled.status_code == 200, disabled.text
    assert disabled.json() == {"service": {**target, "status": "disabled",
                                           "disabled_reason": "maintenance"}}
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "maintenance")
    assert plain.json() == {"service": {**target, "status": "disabled"}}
    assert enabled.json() == {"service": {**target, "status": "enabled"}}
    after = (await services(cloud, admin, query="?host=fake-2"))[0]
    assert (after["status"], after["disabled_reason"]) == ("enabled", None)


async def test_legacy_force_down_needs_2_11(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    body = {"host": "fake-1", "binary": "nova-compute", "forced_down": True}

    too_old = await cloud.client.put(f"{V}/os-services/force-down", json=body,
                                     headers={**admin, **mv("2.10")})
    forced = await cloud.client.put(f"{V}/os-services/force-down", json=body,
                                    headers={**admin, **mv("2.11")})
    shown = (await services(cloud, admin, "2.11", "?host=fake-1"))[0]
    missing = await cloud.client.put(f"{V}/os-services/force-down", headers={**admin, **mv("2.11")},
                                     json={"host": "fake-1", "binary": "nova-compute"})

    assert too_old.status_code == 400
    assert forced.status_code == 200
    assert forced.json() == {"service": body}
    assert (shown["forced_down"], shown["state"]) == (True, "down")
    assert missing.status_code == 400
    assert missing.json()["badRequest"]["message"] == "Missing forced_down field"


async def test_legacy_actions_refuse_bad_input(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    target = {"host": "fake-1", "binary": "nova-compute"}

    unknown = await cloud.client.put(f"{V}/os-services/reboot", headers=admin, json=target)
    no_reason = await cloud.client.put(f"{V}/os-services/disable-log-reason", headers=admin,
                                       json=target)
    not_compute = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                         json={**target, "binary": "nova-scheduler"})
    no_host = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                     json={**target, "host": "nowhere"})
    bad_host = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                      json={**target, "host": "no/slash"})
    extra = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                   json={**target, "status": "disabled"})
    empty_reason = await cloud.client.put(f"{V}/os-services/disable-log-reason", headers=admin,
                                          json={**target, "disabled_reason": ""})
    not_json = await cloud.client.put(f"{V}/os-services/disable", headers=admin, content=b"{")

    assert unknown.status_code == 404
    assert unknown.json() == {"itemNotFound": {"code": 404, "message": "Unknown action"}}
    assert no_reason.status_code == 400
    assert no_reason.json()["badRequest"]["message"] == "Missing disabled reason field"
    assert not_compute.status_code == 400
    assert "Only nova-compute services can be updated" in not_compute.json()["badRequest"]["message"]
    assert no_host.status_code == 404
    assert no_host.json()["itemNotFound"]["message"] == (
        "Could not find binary nova-compute on host nowhere.")
    for resp in (bad_host, extra, empty_reason, not_json):
        assert resp.status_code == 400, resp.text
    # Nothing changed on the way.
    assert all(s["status"] == "enabled" for s in await services(cloud, admin))


async def test_update_by_uuid_from_2_53(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.53")}
    svc = await compute_service(cloud, admin, "fake-1")
    url = f"{V}/os-services/{svc['id']}"

    disabled = await cloud.client.put(url, headers=admin,
                                      json={"status": "disabled", "disabled_reason": "broken"})
    forced = await cloud.client.put(url, headers=admin, json={"forced_down": "true"})
    restored = await cloud.client.put(url, headers=admin,
                                      json={"status": "enabled", "forced_down": False})

    assert disabled.status_code == 200, disabled.text
    body = disabled.json()["service"]
    assert (body["id"], body["status"], body["disabled_reason"]) == (svc["id"], "disabled", "broken")
    assert body["forced_down"] is False and body["host"] == "fake-1"
    assert forced.json()["service"]["forced_down"] is True
    assert forced.json()["service"]["state"] == "down"
    assert forced.json()["service"]["status"] == "disabled"  # untouched by forced_down alone
    final = restored.json()["service"]
    assert (final["status"], final["disabled_reason"], final["forced_down"]) == (
        "enabled", None, False)
    assert final["state"] == "up"


async def test_update_by_uuid_refuses_bad_requests(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.53")}
    svc = await compute_service(cloud, admin, "fake-1")
    scheduler = (await services(cloud, admin, "2.53", "?binary=nova-scheduler"))[0]
    url = f"{V}/os-services/{svc['id']}"

    empty = await cloud.client.put(url, headers=admin, json={})
    reason_only = await cloud.client.put(url, headers=admin, json={"disabled_reason": "x"})
    enable_with_reason = await cloud.client.put(url, headers=admin,
                                                json={"status": "enabled", "disabled_reason": "x"})
    bad_status = await cloud.client.put(url, headers=admin, json={"status": "off"})
    bad_bool = await cloud.client.put(url, headers=admin, json={"forced_down": "maybe"})
    legacy_body = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                         json={"host": "fake-1", "binary": "nova-compute"})
    not_uuid = await cloud.client.put(f"{V}/os-services/disable", headers=admin,
                                      json={"status": "disabled"})
    unknown = await cloud.client.put(f"{V}/os-services/{'0' * 8}-0000-4000-8000-{'0' * 12}",
                                     headers=admin, json={"status": "disabled"})
    not_compute = await cloud.client.put(f"{V}/os-services/{scheduler['id']}", headers=admin,
                                         json={"status": "disabled"})

    assert empty.status_code == 400
    assert "No updates were requested" in empty.json()["badRequest"]["message"]
    assert reason_only.status_code == 400
    assert enable_with_reason.json()["badRequest"]["message"] == (
        "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    assert bad_status.status_code == 400 and bad_bool.status_code == 400
    assert legacy_body.status_code == 400  # the body is checked first, as Nova's schema
    assert not_uuid.status_code == 400
    assert not_uuid.json()["badRequest"]["message"] == "Invalid uuid disable"
    assert unknown.status_code == 404
    assert not_compute.status_code == 400
    assert (await compute_service(cloud, admin, "fake-1"))["status"] == "enabled"


async def test_disabled_host_is_skipped_by_the_scheduler(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    svc = await compute_service(cloud, admin, "fake-1")
    await cloud.client.put(f"{V}/os-services/{svc['id']}", headers={**admin, **mv("2.53")},
                           json={"status": "disabled"})
    image = await upload_image(cloud, admin)

    placed = set()
    for _ in range(3):
        server = await wait_for(cloud, admin, await boot(cloud, admin, image), "ACTIVE", "ERROR")
        assert server is not None and server["status"] == "ACTIVE"
        placed.add(server["OS-EXT-SRV-ATTR:host"])

    assert placed == {"fake-2"}


async def test_state_goes_down_after_service_down_time(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    long_ago = dt.datetime(2020, 1, 1)
    async with cloud.services.compute.write() as session:
        await session.execute(update(ServiceRow).where(ServiceRow.host == "fake-2").values(
            last_seen_up=long_ago, updated_at=long_ago))

    shown = (await services(cloud, admin, query="?host=fake-2"))[0]

    assert shown["state"] == "down"
    assert shown["updated_at"] == "2020-01-01T00:00:00.000000"


async def provider_names(cloud: Cloud, headers: dict[str, str]) -> set[str]:
    resp = await cloud.client.get("/placement/resource_providers", headers=headers)
    return {p["name"] for p in resp.json()["resource_providers"]}


async def test_delete_compute_service_removes_node_and_provider(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    assert cloud.compute is not None
    # A stopped agent, as an operator would delete it: nothing re-registers it meanwhile.
    _, runner = cloud.compute.agents["fake-2"]
    await runner.stop()
    svc = await compute_service(cloud, admin, "fake-2", "2.1")
    assert "fake-2" in await provider_names(cloud, admin)

    deleted = await cloud.client.delete(f"{V}/os-services/{svc['id']}", headers=admin)
    again = await cloud.client.delete(f"{V}/os-services/{svc['id']}", headers=admin)

    assert deleted.status_code == 204, deleted.text
    assert again.status_code == 404
    assert again.json()["itemNotFound"]["message"] == f"Service {svc['id']} could not be found."
    assert "fake-2" not in {s["host"] for s in await services(cloud, admin)}
    assert "fake-2" not in await provider_names(cloud, admin)
    async with cloud.services.compute.read() as session:
        nodes = (await session.execute(select(ComputeNodeRow.host))).scalars().all()
    assert "fake-2" not in nodes
    hypervisors = await cloud.client.get(f"{V}/os-hypervisors", headers=admin)
    assert [h["hypervisor_hostname"] for h in hypervisors.json()["hypervisors"]] == ["fake-1"]


async def test_delete_compute_service_hosting_instances_is_a_conflict(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await wait_for(cloud, admin, await boot(cloud, admin, await upload_image(cloud, admin)),
                            "ACTIVE")
    assert server is not None
    svc = await compute_service(cloud, admin, server["OS-EXT-SRV-ATTR:host"])

    refused = await cloud.client.delete(f"{V}/os-services/{svc['id']}",
                                        headers={**admin, **mv("2.53")})

    assert refused.status_code == 409
    assert refused.json()["conflictingRequest"]["message"].startswith(
        "Unable to delete compute service that is hosting instances.")
    assert server["OS-EXT-SRV-ATTR:host"] in await provider_names(cloud, admin)
    assert await compute_service(cloud, admin, server["OS-EXT-SRV-ATTR:host"])


async def test_delete_checks_the_id_form_of_the_microversion(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    svc = await compute_service(cloud, admin, "fake-1")

    uuid_at_21 = await cloud.client.delete(f"{V}/os-services/{svc['id']}", headers=admin)
    int_at_253 = await cloud.client.delete(f"{V}/os-services/1", headers={**admin, **mv("2.53")})
    unknown_int = await cloud.client.delete(f"{V}/os-services/99999", headers=admin)

    assert uuid_at_21.status_code == 400
    assert uuid_at_21.json()["badRequest"]["message"] == (
        "Invalid input received: id must be an integer")
    assert int_at_253.status_code == 400
    assert int_at_253.json()["badRequest"]["message"] == "Invalid uuid 1"
    assert unknown_int.status_code == 404


async def test_delete_conductor_service(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.53")}
    conductor = (await services(cloud, admin, "2.53", "?binary=nova-conductor"))[0]

    deleted = await cloud.client.delete(f"{V}/os-services/{conductor['id']}", headers=admin)

    assert deleted.status_code == 204
    assert conductor["id"] not in {s["id"] for s in await services(cloud, admin, "2.53")}


async def test_list_shows_nova_services_only_while_cinder_shares_the_table(
        tmp_path: Path) -> None:
    async with running_cloud("sqlite", tmp_path, fake_hosts=1, volume_hosts=1) as cloud:
        admin = await cloud.admin_headers()
        volume_services = (await cloud.client.get(
            f"/volume/v3/{await project_id(cloud, admin)}/os-services", headers=admin)).json()
        assert {s["binary"] for s in volume_services["services"]} == {"cinder-volume",
                                                                       "cinder-scheduler"}
        compute_binaries = {s["binary"] for s in await services(cloud, admin)}
        assert compute_binaries == {"nova-compute", "nova-conductor", "nova-scheduler"}
        zones = (await cloud.client.get(f"{V}/os-availability-zone/detail",
                                        headers=admin)).json()["availabilityZoneInfo"]
        zone_binaries = {binary for zone in zones for host in (zone["hosts"] or {}).values()
                         for binary in host}
        assert zone_binaries == compute_binaries


async def project_id(cloud: Cloud, headers: dict[str, str]) -> str:
    resp = await cloud.client.get("/identity/v3/auth/tokens",
                                  headers={**headers, "X-Subject-Token": headers["X-Auth-Token"]})
    return str(resp.json()["token"]["project"]["id"])
