"""Servers with ports through the real `openstack` CLI: an address from the subnet, a port
added and removed, and deletes that leave no port behind."""

from __future__ import annotations

import ipaddress

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e


def test_server_on_a_network_with_a_port_added_and_removed(admin_cli: Cli, image: str) -> None:
    net = admin_cli.json("network", "create", unique("e2e-cnet"))
    admin_cli.json("subnet", "create", "--network", net["id"], "--subnet-range", "10.9.0.0/24",
                   unique("e2e-csub"))
    extra = admin_cli.json("port", "create", "--network", net["id"], unique("e2e-cport"))
    name = unique("e2e-netvm")

    server = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                            "--network", net["id"], "--wait", name)

    assert server["status"] == "ACTIVE"
    [created] = admin_cli.json("port", "list", "--server", server["id"])
    address = created["Fixed IP Addresses"][0]["ip_address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.9.0.0/24")
    shown = admin_cli.json("server", "show", name)
    assert address in str(shown["addresses"])

    admin_cli.run("server", "add", "port", name, extra["id"])
    ports = {p["ID"] for p in admin_cli.json("port", "list", "--server", server["id"])}
    assert ports == {created["ID"], extra["id"]}
    admin_cli.run("server", "remove", "port", name, extra["id"])
    assert admin_cli.json("port", "show", extra["id"])["device_id"] == ""
    assert [p["ID"] for p in admin_cli.json("port", "list", "--server", server["id"])] == [
        created["ID"]]

    admin_cli.run("server", "delete", "--wait", name)
    left = {p["ID"] for p in admin_cli.json("port", "list", "--network", net["id"])}
    assert left == {extra["id"]}
    admin_cli.run("port", "delete", extra["id"])
    admin_cli.run("network", "delete", net["id"])
    everywhere = {p["ID"] for p in admin_cli.json("port", "list")}
    assert not everywhere & {created["ID"], extra["id"]}


def test_server_reached_through_a_floating_ip(admin_cli: Cli, image: str) -> None:
    public, private, router, name = (unique(p) for p in ("e2e-pub", "e2e-priv", "e2e-rt",
                                                         "e2e-fipvm"))
    admin_cli.run("network", "create", "--external", public)
    admin_cli.run("subnet", "create", "--network", public, "--subnet-range", "172.31.0.0/24",
                  f"{public}-v4")
    admin_cli.run("network", "create", private)
    admin_cli.run("subnet", "create", "--network", private, "--subnet-range", "10.11.0.0/24",
                  f"{private}-v4")
    admin_cli.run("router", "create", router)
    admin_cli.run("router", "add", "subnet", router, f"{private}-v4")
    admin_cli.run("router", "set", "--external-gateway", public, router)
    server = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                            "--network", private, "--wait", name)
    fip = admin_cli.json("floating", "ip", "create", public)

    admin_cli.run("server", "add", "floating", "ip", name, fip["floating_ip_address"])

    [port] = admin_cli.json("port", "list", "--server", server["id"])
    associated = admin_cli.json("floating", "ip", "show", fip["id"])
    assert associated["port_id"] == port["ID"]
    assert ipaddress.ip_address(associated["fixed_ip_address"]) in ipaddress.ip_network(
        "10.11.0.0/24")
    assert fip["floating_ip_address"] in str(admin_cli.json("server", "show", name)["addresses"])

    admin_cli.run("server", "remove", "floating", "ip", name, fip["floating_ip_address"])
    assert admin_cli.json("floating", "ip", "show", fip["id"])["port_id"] is None
    admin_cli.run("floating", "ip", "delete", fip["id"])
    admin_cli.run("server", "delete", "--wait", name)
    admin_cli.run("router", "unset", "--external-gateway", router)
    admin_cli.run("router", "remove", "subnet", router, f"{private}-v4")
    admin_cli.run("router", "delete", router)
    admin_cli.run("network", "delete", private, public)
    assert [p for p in admin_cli.json("port", "list") if p["ID"] == port["ID"]] == []
    assert [n for n in admin_cli.json("network", "list") if n["Name"] in (public, private)] == []
