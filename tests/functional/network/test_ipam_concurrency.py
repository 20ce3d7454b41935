"""IPAM under load: on a /25, 200 port creates at once give 125 distinct addresses (126 hosts
minus the gateway) and clean 409 IpAddressGenerationFailure for the rest, on every backend."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx

from tests.functional.conftest import Cloud
from tests.functional.network.helpers import V2, create

CREATES = 200
POOL = 125


async def test_200_concurrent_ports_on_a_slash_25_get_125_distinct_addresses(
        cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")
    subnet = await create(cloud, headers, "subnet", network_id=network["id"], ip_version=4,
                          cidr="10.20.0.0/25")

    async def one(i: int) -> httpx.Response:
        return await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
            "network_id": network["id"], "name": f"p{i}"}}, timeout=300)

    replies = await asyncio.gather(*(one(i) for i in range(CREATES)))

    created = [r.json()["port"] for r in replies if r.status_code == 201]
    refused = [r for r in replies if r.status_code != 201]
    addresses = [p["fixed_ips"][0]["ip_address"] for p in created]
    assert len(created) == POOL, [r.text for r in refused[:3]]
    assert len(set(addresses)) == POOL
    assert {ipaddress.ip_address(a) for a in addresses} == {
        ipaddress.ip_address(f"10.20.0.{i}") for i in range(2, 127)}
    assert all(r.status_code == 409 for r in refused), {r.status_code for r in refused}
    assert {r.json()["NeutronError"]["type"] for r in refused} == {"IpAddressGenerationFailure"}
    listed = await cloud.client.get(f"{V2}/ports?network_id={network['id']}", headers=headers)
    assert len(listed.json()["ports"]) == POOL
    assert subnet["allocation_pools"] == [{"start": "10.20.0.2", "end": "10.20.0.126"}]


async def test_concurrent_ports_on_two_subnets_in_either_order_all_succeed(cloud: Cloud) -> None:
    """Subnet locks are taken in one order whatever the request's order: no deadlock."""
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")
    first, second = [(await create(cloud, headers, "subnet", network_id=network["id"],
                                   ip_version=4, cidr=cidr))["id"]
                     for cidr in ("10.21.0.0/24", "10.22.0.0/24")]

    async def one(i: int) -> httpx.Response:
        order = [first, second] if i % 2 else [second, first]
        return await cloud.client.post(f"{V2}/ports", headers=headers, json={"port": {
            "network_id": network["id"], "fixed_ips": [{"subnet_id": s} for s in order]}},
            timeout=300)

    replies = await asyncio.gather(*(one(i) for i in range(40)))

    assert [r.status_code for r in replies] == [201] * 40, [r.text for r in replies
                                                            if r.status_code != 201][:2]
    held = [f["ip_address"] for r in replies for f in r.json()["port"]["fixed_ips"]]
    assert len(held) == len(set(held)) == 80
