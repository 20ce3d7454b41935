"""Compute through the real `openstack` CLI against `make up` with three fake hosts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import FAKE_HOSTS, Cli
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e


def create_server(admin_cli: Cli, image: str, name: str, *extra: str) -> dict[str, Any]:
    server: dict[str, Any] = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                                            "--nic", "none", "--wait", *extra, name)
    return server


def test_server_lifecycle_with_events(admin_cli: Cli, image: str) -> None:
    name = unique("e2e-vm")
    server = create_server(admin_cli, image, name)

    assert server["status"] == "ACTIVE"
    shown = admin_cli.json("server", "show", name)
    assert shown["OS-EXT-SRV-ATTR:host"].startswith("fake-")
    assert name in {s["Name"] for s in admin_cli.json("server", "list")}
    events = admin_cli.json("server", "event", "list", name)
    assert [e["Action"] for e in events] == ["create"]
    detail = admin_cli.json("server", "event", "show", name, events[0]["Request ID"])
    steps = {e["event"]: e["result"] for e in detail["events"]}
    assert steps == {"conductor_schedule_and_build_instances": "Success",
                     "compute__do_build_and_run_instance": "Success"}

    admin_cli.run("server", "delete", "--wait", name)
    assert name not in {s["Name"] for s in admin_cli.json("server", "list")}


def test_compute_services_hypervisors_and_providers(admin_cli: Cli) -> None:
    services = admin_cli.json("compute", "service", "list", "--service", "nova-compute")
    hosts = sorted(s["Host"] for s in services)
    assert hosts == [f"fake-{i}" for i in range(1, FAKE_HOSTS + 1)]
    assert all(s["State"] == "up" and s["Status"] == "enabled" for s in services)

    hypervisors = admin_cli.json("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == hosts
    providers = admin_cli.json("resource", "provider", "list")
    assert sorted(p["name"] for p in providers) == hosts

    admin_cli.run("compute", "service", "set", "--disable", "--disable-reason", "e2e", "fake-3",
                  "nova-compute")
    try:
        disabled = {s["Host"]: s for s in admin_cli.json("compute", "service", "list",
                                                         "--service", "nova-compute", "--long")}
        assert disabled["fake-3"]["Status"] == "disabled"
        assert disabled["fake-3"]["Disabled Reason"] == "e2e"
    finally:
        admin_cli.run("compute", "service", "set", "--enable", "fake-3", "nova-compute")


def test_anti_affinity_group_spreads_then_refuses(admin_cli: Cli, image: str) -> None:
    group = admin_cli.json("server", "group", "create", "--policy", "anti-affinity",
                           unique("e2e-spread"))
    names = [unique("e2e-spread-vm") for _ in range(FAKE_HOSTS)]
    for name in names:
        create_server(admin_cli, image, name, "--hint", f"group={group['id']}")
    hosts = {admin_cli.json("server", "show", n)["OS-EXT-SRV-ATTR:host"] for n in names}
    assert len(hosts) == FAKE_HOSTS

    extra = unique("e2e-spread-extra")
    failed = admin_cli.run("server", "create", "--flavor", "m1.tiny", "--image", image, "--nic",
                           "none", "--hint", f"group={group['id']}", "--wait", extra, check=False)
    assert failed.returncode != 0
    shown = admin_cli.json("server", "show", extra)
    assert shown["status"] == "ERROR"
    assert "ServerGroupAntiAffinityFilter (start: 3, end: 0)" in shown["fault"]["message"]

    for name in [*names, extra]:
        admin_cli.run("server", "delete", "--wait", name)


def test_server_properties_and_tags(admin_cli: Cli, image: str) -> None:
    name = unique("e2e-meta")
    create_server(admin_cli, image, name, "--property", "role=web", "--tag", "blue")

    admin_cli.run("server", "set", "--property", "tier=1", "--tag", "green", name)
    admin_cli.run("server", "unset", "--property", "role", "--tag", "blue", name)
    shown = admin_cli.json("server", "show", name)

    assert shown["properties"] == {"tier": "1"}
    assert shown["tags"] == ["green"]
    admin_cli.run("server", "delete", "--wait", name)


def test_server_group_with_rules(admin_cli: Cli) -> None:
    name = unique("e2e-group")
    created = admin_cli.json("server", "group", "create", "--policy", "anti-affinity", "--rule",
                             "max_server_per_host=2", name)

    shown = admin_cli.json("server", "group", "show", created["id"])
    listed = admin_cli.json("server", "group", "list")
    admin_cli.run("server", "group", "delete", name)

    assert shown["name"] == name and shown["policy"] == "anti-affinity"
    assert shown["rules"] == {"max_server_per_host": 2}
    assert created["id"] in {g["ID"] for g in listed}
    assert name not in {g["Name"] for g in admin_cli.json("server", "group", "list")}


def test_quotas_zones_and_hypervisor_details(admin_cli: Cli) -> None:
    project = admin_cli.json("project", "create", unique("e2e-quota"))

    admin_cli.run("quota", "set", "--instances", "7", "--key-pairs", "9", project["id"])
    quota = {q["Resource"]: q["Limit"]
             for q in admin_cli.json("quota", "show", "--compute", project["id"])}
    zones = admin_cli.json("availability", "zone", "list", "--compute")
    stats = admin_cli.json("hypervisor", "stats", "show")
    hypervisors = {h["Hypervisor Hostname"]: h for h in admin_cli.json("hypervisor", "list",
                                                                        "--long")}

    assert (quota["instances"], quota["key-pairs"], quota["cores"]) == (7, 9, 20)
    # An admin's CLI reads the detail, which shows Nova's internal zone too.
    assert {(z["Zone Name"], z["Zone Status"]) for z in zones} == {("nova", "available"),
                                                                  ("internal", "available")}
    assert stats["count"] == FAKE_HOSTS
    assert hypervisors["fake-1"]["State"] == "up"
    assert hypervisors["fake-1"]["vCPUs"] == 16 and hypervisors["fake-1"]["Memory MB"] == 32768
    admin_cli.run("project", "delete", project["id"])


def test_aggregate_zone_reaches_zones_and_hypervisor_show(admin_cli: Cli) -> None:
    # A host with servers cannot change zone: take one that has none.
    busy = {s["Host"] for s in admin_cli.json("server", "list", "--all-projects", "--long")}
    host = next(h for h in (f"fake-{i}" for i in range(FAKE_HOSTS, 0, -1)) if h not in busy)
    name, zone = unique("e2e-agg"), unique("e2e-az")

    created = admin_cli.json("aggregate", "create", "--zone", zone, name)
    added = admin_cli.json("aggregate", "add", "host", name, host)
    shown = admin_cli.json("hypervisor", "show", host)
    zones = {z["Zone Name"] for z in admin_cli.json("availability", "zone", "list", "--compute")}
    removed = admin_cli.json("aggregate", "remove", "host", name, host)
    admin_cli.run("aggregate", "delete", name)

    assert created["availability_zone"] == zone and created["name"] == name
    assert added["hosts"] == [host]
    assert name in shown["aggregates"]
    assert zone in zones
    assert removed["hosts"] == []
    assert name not in {a["Name"] for a in admin_cli.json("aggregate", "list")}
