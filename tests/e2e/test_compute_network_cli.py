"""Servers with ports through the real `openstack` CLI: an address from the subnet, a port
added and removed, and deletes that leave no port behind."""

from __future__ import annotations

import ipaddress

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_compute_cli import image, unique

pytestmark = pytest.mark.e2e

__all__ = ["image"]


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
