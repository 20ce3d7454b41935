"""Networks, subnets and ports through the real `openstack` CLI against `make up`."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e


def test_network_subnet_port_lifecycle_through_the_cli(admin_cli: Cli) -> None:
    net_name, subnet_name = unique("e2e-net"), unique("e2e-subnet")
    ports_before = {p["ID"] for p in admin_cli.json("port", "list")}

    network = admin_cli.json("network", "create", "--tag", "e2e", net_name)
    assert network["name"] == net_name and network["status"] == "ACTIVE"
    assert network["tags"] == ["e2e"]
    subnet = admin_cli.json("subnet", "create", "--network", net_name, "--subnet-range",
                            "10.0.0.0/24", "--dns-nameserver", "192.0.2.53", subnet_name)
    assert subnet["cidr"] == "10.0.0.0/24" and subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["dns_nameservers"] == ["192.0.2.53"]
    port = admin_cli.json("port", "create", "--network", net_name, unique("e2e-port"))
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]
    assert port["mac_address"].startswith("fa:16:3e:")

    listed = admin_cli.json("port", "list", "--network", net_name)
    assert [p["ID"] for p in listed] == [port["id"]]
    shown = admin_cli.json("network", "show", net_name)
    assert shown["subnets"] == [subnet["id"]]
    in_use = admin_cli.run("network", "delete", net_name, check=False)
    assert in_use.returncode != 0

    admin_cli.run("port", "delete", port["id"])
    admin_cli.run("subnet", "delete", subnet_name)
    admin_cli.run("network", "delete", net_name)
    assert net_name not in {n["Name"] for n in admin_cli.json("network", "list")}
    assert subnet_name not in {s["Name"] for s in admin_cli.json("subnet", "list")}
    assert {p["ID"] for p in admin_cli.json("port", "list")} == ports_before
