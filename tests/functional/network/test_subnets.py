"""Subnets: defaults (gateway, pools), IPv6 modes, validation of CIDRs, gateways and pools,
overlap within a network, update, delete while in use, visibility."""

from __future__ import annotations

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

SUBNET_KEYS = {"id", "name", "network_id", "ip_version", "cidr", "gateway_ip",
               "allocation_pools", "enable_dhcp", "dns_nameservers", "host_routes",
               "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "service_types",
               "description", "tags", "created_at", "updated_at", "revision_number",
               "project_id", "tenant_id", "router:external"}


async def _network(cloud: Cloud, headers: dict[str, str]) -> str:
    network: dict[str, Any] = await create(cloud, headers, "network")
    return str(network["id"])


async def test_ipv4_subnet_defaults_gateway_and_pool(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    subnet = await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                          cidr="10.0.0.0/24", name="s1")

    assert set(subnet) == SUBNET_KEYS
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["subnetpool_id"] is None
    network = await show(cloud, headers, "network", net)
    assert network["subnets"] == [subnet["id"]]


async def test_gateway_in_the_middle_splits_the_default_pool(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    subnet = await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                          cidr="10.1.0.0/28", gateway_ip="10.1.0.5")
    no_gateway = await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                              cidr="10.2.0.0/29", gateway_ip=None)

    assert subnet["allocation_pools"] == [{"start": "10.1.0.1", "end": "10.1.0.4"},
                                          {"start": "10.1.0.6", "end": "10.1.0.14"}]
    assert no_gateway["gateway_ip"] is None
    assert no_gateway["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.6"}]


async def test_ipv6_slaac_subnet(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    subnet = await create(cloud, headers, "subnet", network_id=net, ip_version=6,
                          cidr="2001:db8::/64", ipv6_ra_mode="slaac",
                          ipv6_address_mode="slaac")

    assert subnet["gateway_ip"] == "2001:db8::1"
    assert subnet["allocation_pools"] == [{"start": "2001:db8::2",
                                           "end": "2001:db8::ffff:ffff:ffff:ffff"}]
    assert subnet["ipv6_address_mode"] == "slaac"


async def test_bad_subnets_are_400_or_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    await create(cloud, headers, "subnet", network_id=net, ip_version=4, cidr="10.0.0.0/24")
    cases = [
        ({"cidr": "10.0.0.128/25"}, 400, "InvalidInput"),  # overlaps
        ({"cidr": "10.9.0.1/24"}, 400, "HTTPBadRequest"),  # host bits set
        ({"cidr": "not-a-cidr"}, 400, "HTTPBadRequest"),
        ({"cidr": "10.9.0.0/24", "gateway_ip": "10.8.0.1"}, 400, "InvalidInput"),
        ({"cidr": "10.9.0.0/24", "ip_version": 6}, 400, "InvalidInput"),
        ({"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.1.2", "end": "10.9.1.9"}]},
         400, "OutOfBoundsAllocationPool"),
        ({"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.9", "end": "10.9.0.2"}]},
         400, "InvalidAllocationPool"),
        ({"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.2", "end": "10.9.0.9"},
                                                      {"start": "10.9.0.5", "end": "10.9.0.20"}]},
         409, "OverlappingAllocationPools"),
        ({"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.1", "end": "10.9.0.9"}]},
         409, "GatewayConflictWithAllocationPools"),
        ({"cidr": "10.9.0.0/24", "ipv6_ra_mode": "slaac"}, 400, "InvalidInput"),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["1.1.1.1", "1.1.1.1"]}, 400,
         "HTTPBadRequest"),
    ]
    for extra, status, kind in cases:
        body = {"network_id": net, "ip_version": 4, **extra}
        resp = await cloud.client.post(f"{V2}/subnets", headers=headers, json={"subnet": body})
        assert_neutron_error(resp, status, kind)
    missing = await cloud.client.post(f"{V2}/subnets", headers=headers, json={"subnet": {
        "network_id": net, "ip_version": 4}})
    unknown_net = await cloud.client.post(f"{V2}/subnets", headers=headers, json={"subnet": {
        "network_id": "6f1f7d8e-32b1-4d53-9a7a-000000000000", "ip_version": 4,
        "cidr": "10.7.0.0/24"}})
    assert_neutron_error(missing, 400, "HTTPBadRequest")
    assert_neutron_error(unknown_net, 404, "NetworkNotFound")


async def test_update_subnet_pools_gateway_and_dns(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    subnet = await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                          cidr="10.3.0.0/24")
    resp = await cloud.client.put(f"{V2}/subnets/{subnet['id']}", headers=headers, json={
        "subnet": {"name": "renamed", "dns_nameservers": ["8.8.8.8"], "gateway_ip": "10.3.0.254",
                   "allocation_pools": [{"start": "10.3.0.10", "end": "10.3.0.20"}],
                   "host_routes": [{"destination": "10.20.0.0/16", "nexthop": "10.3.0.5"}]}})
    conflict = await cloud.client.put(f"{V2}/subnets/{subnet['id']}", headers=headers, json={
        "subnet": {"gateway_ip": "10.3.0.15"}})
    read_only = await cloud.client.put(f"{V2}/subnets/{subnet['id']}", headers=headers, json={
        "subnet": {"cidr": "10.4.0.0/24"}})

    assert resp.status_code == 200, resp.text
    updated = resp.json()["subnet"]
    assert updated["gateway_ip"] == "10.3.0.254" and updated["dns_nameservers"] == ["8.8.8.8"]
    assert updated["allocation_pools"] == [{"start": "10.3.0.10", "end": "10.3.0.20"}]
    assert updated["revision_number"] == subnet["revision_number"] + 1
    assert_neutron_error(conflict, 409, "GatewayConflictWithAllocationPools")
    assert_neutron_error(read_only, 400, "HTTPBadRequest")


async def test_delete_subnet_in_use_is_409_then_204(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    net = await _network(cloud, headers)
    subnet = await create(cloud, headers, "subnet", network_id=net, ip_version=4,
                          cidr="10.5.0.0/24")
    port = await create(cloud, headers, "port", network_id=net)

    in_use = await cloud.client.delete(f"{V2}/subnets/{subnet['id']}", headers=headers)
    await cloud.client.delete(f"{V2}/ports/{port['id']}", headers=headers)
    deleted = await cloud.client.delete(f"{V2}/subnets/{subnet['id']}", headers=headers)

    assert_neutron_error(in_use, 409, "SubnetInUse")
    assert deleted.status_code == 204
    assert (await show(cloud, headers, "network", net))["subnets"] == []


async def test_subnets_on_others_networks(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    private = await _network(cloud, headers)
    shared = (await create(cloud, headers, "network", shared=True))["id"]
    hidden = await create(cloud, headers, "subnet", network_id=private, ip_version=4,
                          cidr="10.6.0.0/24")
    visible = await create(cloud, headers, "subnet", network_id=shared, ip_version=4,
                           cidr="10.6.1.0/24")

    on_private = await cloud.client.post(f"{V2}/subnets", headers=member.headers, json={
        "subnet": {"network_id": private, "ip_version": 4, "cidr": "10.6.2.0/24"}})
    on_shared = await cloud.client.post(f"{V2}/subnets", headers=member.headers, json={
        "subnet": {"network_id": shared, "ip_version": 4, "cidr": "10.6.3.0/24"}})
    show_hidden = await cloud.client.get(f"{V2}/subnets/{hidden['id']}", headers=member.headers)

    assert_neutron_error(on_private, 404, "NetworkNotFound")
    assert_neutron_error(on_shared, 403)
    assert_neutron_error(show_hidden, 404, "SubnetNotFound")
    assert await ids(cloud, member.headers, "subnet") == [visible["id"]]
