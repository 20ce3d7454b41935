"""Placement through the real `openstack` CLI (osc-placement) against `make up`."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e


def test_provider_inventory_candidates_and_traits(admin_cli: Cli) -> None:
    name = unique("e2e-rp")
    created = admin_cli.json("resource", "provider", "create", name)
    rp = created["uuid"]
    assert created["name"] == name and created["generation"] == 0
    try:
        inventory = admin_cli.json("resource", "provider", "inventory", "set", rp,
                                   "--resource", "VCPU=8", "--resource", "VCPU:allocation_ratio=2.0",
                                   "--resource", "MEMORY_MB=4096", "--resource", "DISK_GB=100")
        by_class = {row["resource_class"]: row for row in inventory}
        assert by_class["VCPU"]["total"] == 8 and by_class["VCPU"]["allocation_ratio"] == 2.0
        assert by_class["MEMORY_MB"]["total"] == 4096

        listed = admin_cli.json("resource", "provider", "list")
        assert rp in {row["uuid"] for row in listed}
        assert admin_cli.json("resource", "provider", "list", "--name", name)[0]["uuid"] == rp

        candidates = admin_cli.json("allocation", "candidate", "list", "--resource", "VCPU=1")
        mine = [row for row in candidates if row["resource provider"] == rp]
        assert mine and mine[0]["allocation"] == "VCPU=1"
        assert "VCPU=0/16" in mine[0]["inventory used/capacity"]
        none = admin_cli.json("allocation", "candidate", "list", "--resource", "VCPU=17")
        assert rp not in {row["resource provider"] for row in none}

        traits = {row["name"] for row in admin_cli.json("trait", "list")}
        assert {"COMPUTE_NODE", "HW_CPU_X86_AVX2", "COMPUTE_STATUS_DISABLED"} <= traits
        admin_cli.run("trait", "create", "CUSTOM_E2E_GOLD")
        admin_cli.run("resource", "provider", "trait", "set", rp,
                      "--trait", "CUSTOM_E2E_GOLD", "--trait", "COMPUTE_NODE")
        rp_traits = {row["name"] for row in admin_cli.json("resource", "provider", "trait", "list", rp)}
        assert rp_traits == {"CUSTOM_E2E_GOLD", "COMPUTE_NODE"}

        usage = {row["resource_class"]: row["usage"]
                 for row in admin_cli.json("resource", "provider", "usage", "show", rp)}
        assert usage == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
        shown = admin_cli.json("resource", "provider", "show", rp, "--allocations")
        assert shown["allocations"] == {} and shown["root_provider_uuid"] == rp
    finally:
        admin_cli.run("resource", "provider", "trait", "delete", rp, check=False)
        admin_cli.run("resource", "provider", "delete", rp)
    gone = admin_cli.run("resource", "provider", "show", rp, check=False)
    assert gone.returncode != 0 and "No resource provider" in gone.stderr
    admin_cli.run("trait", "delete", "CUSTOM_E2E_GOLD")


def test_allocations_through_the_cli(admin_cli: Cli) -> None:
    rp = admin_cli.json("resource", "provider", "create", unique("e2e-alloc"))["uuid"]
    consumer = str(uuid.uuid4())
    try:
        admin_cli.run("resource", "provider", "inventory", "set", rp, "--resource", "VCPU=2")
        admin_cli.run("resource", "provider", "allocation", "set", consumer,
                      "--allocation", f"rp={rp},VCPU=2", "--project-id", "p-e2e",
                      "--user-id", "u-e2e")
        held = admin_cli.json("resource", "provider", "allocation", "show", consumer)
        assert held[0]["resource_provider"] == rp and held[0]["resources"] == {"VCPU": 2}
        full = admin_cli.run("resource", "provider", "allocation", "set", str(uuid.uuid4()),
                             "--allocation", f"rp={rp},VCPU=1", "--project-id", "p",
                             "--user-id", "u", check=False)
        assert full.returncode != 0 and "capacity" in full.stderr
        admin_cli.run("resource", "provider", "allocation", "delete", consumer)
        assert admin_cli.json("resource", "provider", "allocation", "show", consumer) == []
    finally:
        admin_cli.run("resource", "provider", "delete", rp)
