"""Security groups, routers and floating IPs through the real `openstack` CLI against
`make up`: what a user does to reach a server from outside, then deletes that leave nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli, RunningCloud
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e


def test_security_group_router_and_floating_ip_through_the_cli(nimbus: RunningCloud,
                                                                 admin_cli: Cli) -> None:
    group, public, private, router = (unique(p) for p in ("sg", "public", "private", "router"))

    created = admin_cli.json("security", "group", "create", group)
    rule = admin_cli.json("security", "group", "rule", "create", "--protocol", "tcp",
                          "--dst-port", "22", group)
    admin_cli.run("network", "create", "--external", public)
    admin_cli.run("subnet", "create", "--network", public, "--subnet-range", "172.30.0.0/24",
                  f"{public}-v4")
    admin_cli.run("network", "create", private)
    admin_cli.run("subnet", "create", "--network", private, "--subnet-range", "10.0.0.0/24",
                  f"{private}-v4")
    admin_cli.run("router", "create", router)
    admin_cli.run("router", "add", "subnet", router, f"{private}-v4")
    admin_cli.run("router", "set", "--external-gateway", public, router)
    port = admin_cli.json("port", "create", "--network", private, "--security-group", group,
                          unique("port"))
    fip = admin_cli.json("floating", "ip", "create", "--port", port["id"], public)
    shown = admin_cli.json("router", "show", router)

    assert created["name"] == group
    assert {r["direction"] for r in created["rules"]} == {"egress"}
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == ("tcp", 22, 22)
    assert shown["external_gateway_info"]["network_id"]
    assert fip["floating_ip_address"].startswith("172.30.0.")
    assert fip["port_id"] == port["id"]
    assert port["security_group_ids"] == [created["id"]]

    admin_cli.run("floating", "ip", "delete", fip["id"])
    admin_cli.run("port", "delete", port["id"])
    admin_cli.run("router", "unset", "--external-gateway", router)
    admin_cli.run("router", "remove", "subnet", router, f"{private}-v4")
    admin_cli.run("router", "delete", router)
    admin_cli.run("security", "group", "delete", group)
    admin_cli.run("network", "delete", private, public)

    assert [r for r in admin_cli.json("router", "list") if r["Name"] == router] == []
    assert admin_cli.json("floating", "ip", "list") == []
    assert [g for g in admin_cli.json("security", "group", "list") if g["Name"] == group] == []
    assert [n for n in admin_cli.json("network", "list")
            if n["Name"] in (public, private)] == []
    assert [p for p in admin_cli.json("port", "list", "--long")
            if p["Device Owner"].startswith("network:")] == []
