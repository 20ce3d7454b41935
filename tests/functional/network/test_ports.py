"""Ports: MACs, fixed IPs allocated or requested, bindings, address pairs, DHCP options,
port security, updates, deletes, visibility, and the network they keep in use."""

from __future__ import annotations

import re
from typing import Any

from tests.functional.conftest import Cloud
from tests.functional.network.helpers import (
    V2,
    assert_neutron_error,
    create,
    ids,
    new_caller,
    show,
)

PORT_KEYS = {"id", "name", "network_id", "mac_address", "admin_state_up", "status",
             "device_id", "device_owner", "fixed_ips", "allowed_address_pairs",
             "extra_dhcp_opts", "security_groups", "port_security_enabled", "binding:host_id",
             "binding:vif_type", "binding:vif_details", "binding:vnic_type", "binding:profile",
             "description", "tags", "created_at", "updated_at", "revision_number", "project_id",
             "tenant_id"}
BINDING_ADMIN = {"binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile"}


async def _network_with_subnet(cloud: Cloud, headers: dict[str, str], cidr: str = "10.0.0.0/24",
                               **extra: Any) -> tuple[str, str]:
    network = await create(cloud, headers, "network", **extra)
    subnet = await create(cloud, headers, "subnet", network_id=network["id"], ip_version=4,
                          cidr=cidr)
    return network["id"], subnet["id"]


async def test_port_gets_mac_and_first_free_address(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, subnet = await _network_with_subnet(cloud, headers)
    first = await create(cloud, headers, "port", network_id=net, name="p1")
    second = await create(cloud, headers, "port", network_id=net)

    assert set(first) == PORT_KEYS
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", first["mac_address"])
    assert first["mac_address"] != second["mac_address"]
    assert first["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.0.0.2"}]
    assert second["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.0.0.3"}]
    assert first["status"] == "DOWN" and first["binding:vif_type"] == "unbound"
    assert first["binding:vnic_type"] == "normal" and first["port_security_enabled"] is True
    default = (await cloud.client.get(
        f"{V2}/security-groups?name=default&project_id={first['project_id']}",
        headers=headers)).json()["security_groups"]
    assert first["security_groups"] == [default[0]["id"]]


async def test_requested_address_and_address_in_use(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, subnet = await _network_with_subnet(cloud, headers)
    port = await create(cloud, headers, "port", network_id=net,
                        fixed_ips=[{"subnet_id": subnet, "ip_address": "10.0.0.50"}])
    taken = await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
        "network_id": net, "fixed_ips": [{"ip_address": "10.0.0.50"}]}})
    outside = await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
        "network_id": net, "fixed_ips": [{"ip_address": "10.9.0.50"}]}})

    assert port["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.0.0.50"}]
    assert_neutron_error(taken, 409, "IpAddressAlreadyAllocated")
    assert_neutron_error(outside, 400, "InvalidInput")


async def test_two_subnets_and_a_second_address_by_update(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, first = await _network_with_subnet(cloud, headers)
    second = (await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                           cidr="10.1.0.0/24"))["id"]
    port = await create(cloud, headers, "port", network_id=net)
    resp = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=headers, json={"port": {
        "fixed_ips": [*port["fixed_ips"], {"subnet_id": second}]}})
    dropped = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=headers, json={"port": {
        "fixed_ips": [{"subnet_id": second}]}})

    assert port["fixed_ips"] == [{"subnet_id": first, "ip_address": "10.0.0.2"}]
    assert resp.status_code == 200, resp.text
    assert resp.json()["port"]["fixed_ips"] == [{"subnet_id": first, "ip_address": "10.0.0.2"},
                                                {"subnet_id": second, "ip_address": "10.1.0.2"}]
    assert dropped.json()["port"]["fixed_ips"] == [{"subnet_id": second,
                                                    "ip_address": "10.1.0.2"}]
    again = await create(cloud, headers, "port", network_id=net)
    assert again["fixed_ips"] == [{"subnet_id": first, "ip_address": "10.0.0.2"}]


async def test_slaac_subnet_gives_eui64_address(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")
    await create(cloud, headers, "subnet", network_id=network["id"], ip_version=6,
                 cidr="2001:db8::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = await create(cloud, headers, "port", network_id=network["id"],
                        mac_address="fa:16:3e:11:22:33")

    assert [f["ip_address"] for f in port["fixed_ips"]] == ["2001:db8::f816:3eff:fe11:2233"]


async def test_binding_makes_port_bridge_and_active_for_admins_only(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    network = await create(cloud, member.headers, "network")
    port = await create(cloud, member.headers, "port", network_id=network["id"])
    bound = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=headers, json={"port": {
        "binding:host_id": "node1", "device_id": "server-1", "device_owner": "compute:nova"}})
    member_bind = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=member.headers,
                                         json={"port": {"binding:host_id": "node2"}})
    member_view = await show(cloud, member.headers, "port", port["id"])

    assert not BINDING_ADMIN & set(port)
    assert bound.status_code == 200, bound.text
    shown = bound.json()["port"]
    assert shown["binding:vif_type"] == "bridge" and shown["binding:host_id"] == "node1"
    assert shown["status"] == "ACTIVE" and shown["device_owner"] == "compute:nova"
    assert_neutron_error(member_bind, 403, "PolicyNotAuthorized")
    assert member_view["binding:vnic_type"] == "normal" and "binding:vif_type" not in member_view


async def test_address_pairs_dhcp_options_and_port_security(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, _ = await _network_with_subnet(cloud, headers)
    port = await create(cloud, headers, "port", network_id=net,
                        allowed_address_pairs=[{"ip_address": "10.0.0.200"}],
                        extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": "pxe.0"}],
                        security_groups=[])
    insecure = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=headers, json={"port": {
        "port_security_enabled": False}})
    cleared = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=headers, json={"port": {
        "port_security_enabled": False, "allowed_address_pairs": [],
        "extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": None}]}})

    assert port["allowed_address_pairs"] == [{"ip_address": "10.0.0.200",
                                              "mac_address": port["mac_address"]}]
    assert port["extra_dhcp_opts"] == [{"opt_name": "bootfile-name", "opt_value": "pxe.0",
                                        "ip_version": 4}]
    assert_neutron_error(insecure, 409, "AddressPairAndPortSecurityRequired")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["port"]["port_security_enabled"] is False
    assert cleared.json()["port"]["extra_dhcp_opts"] == []


async def test_mac_address_requested_twice_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, _ = await _network_with_subnet(cloud, headers)
    await create(cloud, headers, "port", network_id=net, mac_address="fa:16:3e:00:00:01")
    again = await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
        "network_id": net, "mac_address": "fa:16:3e:00:00:01"}})
    bad = await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
        "network_id": net, "mac_address": "01:00:00:00:00:01"}})

    assert_neutron_error(again, 409, "MacAddressInUse")
    assert_neutron_error(bad, 400, "HTTPBadRequest")


async def test_network_in_use_until_its_ports_are_gone(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, _ = await _network_with_subnet(cloud, headers)
    port = await create(cloud, headers, "port", network_id=net)
    await create(cloud, headers, "port", network_id=net, device_owner="network:dhcp")

    in_use = await cloud.client.delete(f"{V2}/networks/{net}", headers=headers)
    await cloud.client.delete(f"{V2}/ports/{port['id']}", headers=headers)
    deleted = await cloud.client.delete(f"{V2}/networks/{net}", headers=headers)

    assert_neutron_error(in_use, 409, "NetworkInUse")
    assert deleted.status_code == 204
    assert await ids(cloud, headers, "port", f"?network_id={net}") == []
    assert await ids(cloud, headers, "subnet", f"?network_id={net}") == []


async def test_ports_on_shared_network_and_visibility(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member, other = await new_caller(cloud), await new_caller(cloud)
    net, subnet = await _network_with_subnet(cloud, headers, shared=True)
    mine = await create(cloud, member.headers, "port", network_id=net)
    chosen = await cloud.client.post(f"{V2}/ports", headers=member.headers, json={"port": {
        "network_id": net, "fixed_ips": [{"subnet_id": subnet, "ip_address": "10.0.0.99"}]}})
    hidden = await cloud.client.get(f"{V2}/ports/{mine['id']}", headers=other.headers)

    assert mine["project_id"] == member.project_id
    assert_neutron_error(chosen, 403, "PolicyNotAuthorized")
    assert_neutron_error(hidden, 404, "PortNotFound")
    assert await ids(cloud, member.headers, "port") == [mine["id"]]
    assert await ids(cloud, other.headers, "port") == []


async def test_list_ports_by_fixed_ip_and_device(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net, subnet = await _network_with_subnet(cloud, headers)
    first = await create(cloud, headers, "port", network_id=net, device_id="vm-1")
    await create(cloud, headers, "port", network_id=net, device_id="vm-2")

    by_ip = await ids(cloud, headers, "port", "?fixed_ips=ip_address%3D10.0.0.2")
    by_both = await ids(cloud, headers, "port",
                        f"?fixed_ips=ip_address%3D10.0.0.2&fixed_ips=subnet_id%3D{subnet}")
    by_device = await ids(cloud, headers, "port", "?device_id=vm-1")

    assert by_ip == by_both == by_device == [first["id"]]
