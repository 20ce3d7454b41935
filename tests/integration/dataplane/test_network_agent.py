"""The network agent and compute's plugging, on the in-process cloud and the real kernel.

The agent reads the cloud over REST as the service user and makes the host namespace match:
a DHCP port and dnsmasq for a network with ports, security groups on the taps, nothing left
once the ports and network are gone. Compute plugs taps only for a driver that needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.cmd import runtime
from nimbus.core.clients.network import NetworkClient
from nimbus.core.config import Settings
from nimbus.dataplane import dhcp, ip, names
from nimbus.network.agent.agent import NetworkAgent
from tests.functional.compute.helpers import upload_image, wait_for
from tests.functional.conftest import BASE_URL, SERVICE_PASSWORD, Cloud, running_cloud
from tests.integration.dataplane.conftest import FakeGuest, dnsmasq_pids, pings, skip_unless_root

pytestmark = [pytest.mark.dataplane, skip_unless_root]

N = "/network/v2.0"
LATEST = {"OpenStack-API-Version": "compute 2.79"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud("sqlite", tmp_path, fake_hosts=1) as running:
        yield running


@pytest.fixture
def host_ns(tmp_path: Path) -> str:
    return names.host_namespace(tmp_path / "state")


@pytest.fixture
async def agent(cloud: Cloud, tmp_path: Path, host_ns: str) -> AsyncIterator[NetworkAgent]:
    state_dir = tmp_path / "state"
    tokens = runtime.rest_clients(Settings(state_dir=state_dir, public_url=BASE_URL),
                                  cloud.client, SERVICE_PASSWORD).tokens
    made = NetworkAgent(state_dir, NetworkClient(cloud.client, f"{BASE_URL}/network"),
                        tokens.token)
    try:
        yield made
    finally:
        await made.teardown()
        assert not ip.netns_exists(host_ns)
        assert dnsmasq_pids(state_dir) == []


async def _post(cloud: Cloud, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    resp = await cloud.client.post(f"{N}/{path}", headers=headers, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _network(cloud: Cloud, headers: dict[str, str], cidr: str) -> tuple[str, str]:
    net = (await _post(cloud, headers, "networks", {"network": {"name": "private",
                                                                "mtu": 1450}}))["network"]
    sub = (await _post(cloud, headers, "subnets", {"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": cidr,
        "dns_nameservers": ["10.97.0.53"]}}))["subnet"]
    return net["id"], sub["id"]


async def test_compute_plugs_taps_for_a_driver_that_needs_them(
        cloud: Cloud, agent: NetworkAgent, host_ns: str) -> None:
    assert cloud.compute is not None
    compute_agent, _ = cloud.compute.agents["fake-1"]
    compute_agent.driver.needs_dataplane = True  # the QEMU driver's answer
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "10.97.0.0/24")
    resp = await cloud.client.post("/compute/v2.1/servers", headers={**admin, **LATEST}, json={
        "server": {"name": "vm", "imageRef": image, "flavorRef": "1",
                   "networks": [{"uuid": net_id}]}})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    server = await wait_for(cloud, {**admin, **LATEST}, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    [port] = (await cloud.client.get(f"{N}/ports", headers=admin,
                                     params={"device_id": server_id})).json()["ports"]

    tap_name = names.guest_tap(port["id"], "fake-1")
    tap = (await ip.links(host_ns))[tap_name]
    assert tap["master"] == names.bridge(net_id)
    assert tap["mtu"] == 1450
    assert await agent.plugged_taps() == [tap_name]
    assert not await agent.teardown_if_idle()  # a guest is plugged in: its network stays

    deleted = await cloud.client.delete(f"/compute/v2.1/servers/{server_id}", headers=admin)
    assert deleted.status_code == 204
    await wait_for(cloud, {**admin, **LATEST}, server_id, "DELETED")
    assert tap_name not in await ip.links(host_ns)


async def test_agent_serves_dhcp_and_security_groups_then_cleans_up(
        cloud: Cloud, agent: NetworkAgent, host_ns: str, tmp_path: Path,
        udhcpc_script: Path) -> None:
    admin = await cloud.admin_headers()
    net_id, subnet_id = await _network(cloud, admin, "10.97.0.0/24")
    port = (await _post(cloud, admin, "ports", {"port": {
        "network_id": net_id, "device_owner": "compute:nova", "device_id": "vm-1",
        "binding:host_id": "fake-1"}}))["port"]
    address = port["fixed_ips"][0]["ip_address"]
    guest = FakeGuest(host_ns, port["id"], port["mac_address"])
    try:
        await agent.sync()  # makes the host namespace; the guest plugs in after, as compute does
        await guest.attach(net_id, mtu=1450)
        await agent.sync()
        [dhcp_port] = (await cloud.client.get(f"{N}/ports", headers=admin, params={
            "network_id": net_id, "device_owner": "network:dhcp"})).json()["ports"]
        assert dhcp_port["fixed_ips"][0]["subnet_id"] == subnet_id

        lease = await guest.dhcp_lease(udhcpc_script)
        assert lease["ip"] == address
        assert lease["mtu"] == "1450"
        assert lease["router"] == "10.97.0.1"
        await ip.run("addr", "add", f"{address}/24", "dev", "eth0", netns=guest.netns)

        # The default group lets in only its own members: not the DHCP namespace.
        qdhcp = names.dhcp_namespace(net_id)
        assert not pings(qdhcp, address)
        [group] = port["security_groups"]
        await _post(cloud, admin, "security-group-rules", {"security_group_rule": {
            "security_group_id": group, "direction": "ingress", "ethertype": "IPv4",
            "protocol": "icmp"}})
        await agent.sync()
        assert pings(qdhcp, address)

        # The port goes: no DHCP left to serve on the network.
        assert (await cloud.client.delete(f"{N}/ports/{port['id']}", headers=admin)).status_code == 204
        await agent.sync()
        assert not ip.netns_exists(qdhcp)
        assert dhcp.enabled_networks(tmp_path / "state") == []
    finally:
        await ip.delete_netns(guest.netns)
    # The network goes once its last tap is unplugged: its bridge follows.
    assert (await cloud.client.delete(f"{N}/networks/{net_id}", headers=admin)).status_code == 204
    await agent.sync()
    assert names.bridge(net_id) not in await ip.links(host_ns)


async def _put(cloud: Cloud, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    resp = await cloud.client.put(f"{N}/{path}", headers=headers, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_router_routes_snats_and_serves_floating_ips(
        cloud: Cloud, agent: NetworkAgent, host_ns: str) -> None:
    admin = await cloud.admin_headers()
    public = (await _post(cloud, admin, "networks", {"network": {
        "name": "public", "router:external": True}}))["network"]["id"]
    public_subnet = (await _post(cloud, admin, "subnets", {"subnet": {
        "network_id": public, "ip_version": 4, "cidr": "172.30.0.0/24",
        "enable_dhcp": False}}))["subnet"]["id"]
    private, private_subnet = await _network(cloud, admin, "10.96.0.0/24")
    router_id = (await _post(cloud, admin, "routers", {"router": {"name": "r"}}))["router"]["id"]
    await _put(cloud, admin, f"routers/{router_id}/add_router_interface",
               {"subnet_id": private_subnet})
    await _put(cloud, admin, f"routers/{router_id}",
               {"router": {"external_gateway_info": {"network_id": public}}})
    vm_port = (await _post(cloud, admin, "ports", {"port": {
        "network_id": private, "device_owner": "compute:nova", "device_id": "vm-1"}}))["port"]
    vm_ip = vm_port["fixed_ips"][0]["ip_address"]
    # Someone on the external network: a port without filtering, as an upstream host.
    outside_port = (await _post(cloud, admin, "ports", {"port": {
        "network_id": public, "port_security_enabled": False,
        "fixed_ips": [{"subnet_id": public_subnet, "ip_address": "172.30.0.50"}]}}))["port"]
    vm = FakeGuest(host_ns, vm_port["id"], vm_port["mac_address"])
    outside = FakeGuest(host_ns, outside_port["id"], outside_port["mac_address"])
    try:
        await agent.sync()
        await vm.attach(private, mtu=1450)
        await outside.attach(public)
        await ip.run("addr", "add", f"{vm_ip}/24", "dev", "eth0", netns=vm.netns)
        await ip.run("route", "add", "default", "via", "10.96.0.1", netns=vm.netns)
        await ip.run("addr", "add", "172.30.0.50/24", "dev", "eth0", netns=outside.netns)

        assert pings(vm.netns, "10.96.0.1")       # the router's leg holds the gateway address
        assert pings(vm.netns, "172.30.0.50")     # out through SNAT

        fip = (await _post(cloud, admin, "floatingips", {"floatingip": {
            "floating_network_id": public, "port_id": vm_port["id"]}}))["floatingip"]
        await agent.sync()
        assert not pings(outside.netns, fip["floating_ip_address"])  # the group keeps it out
        await _post(cloud, admin, "security-group-rules", {"security_group_rule": {
            "security_group_id": vm_port["security_groups"][0], "direction": "ingress",
            "ethertype": "IPv4", "protocol": "icmp"}})
        await agent.sync()
        assert pings(outside.netns, fip["floating_ip_address"])
        assert ip.netns_exists(names.router_namespace(router_id))
    finally:
        await ip.delete_netns(vm.netns)
        await ip.delete_netns(outside.netns)
    # The router goes with its namespace.
    assert (await cloud.client.delete(f"{N}/floatingips/{fip['id']}", headers=admin)).status_code == 204
    await _put(cloud, admin, f"routers/{router_id}", {"router": {"external_gateway_info": {}}})
    await _put(cloud, admin, f"routers/{router_id}/remove_router_interface",
               {"subnet_id": private_subnet})
    assert (await cloud.client.delete(f"{N}/routers/{router_id}", headers=admin)).status_code == 204
    await agent.sync()
    assert not ip.netns_exists(names.router_namespace(router_id))


async def test_agent_rebuilds_a_host_namespace_removed_under_it(
        cloud: Cloud, agent: NetworkAgent, host_ns: str, udhcpc_script: Path) -> None:
    admin = await cloud.admin_headers()
    net_id, _ = await _network(cloud, admin, "10.95.0.0/24")
    port = (await _post(cloud, admin, "ports", {"port": {
        "network_id": net_id, "device_owner": "compute:nova", "device_id": "vm-1"}}))["port"]
    await agent.sync()
    await ip.delete_netns(host_ns)  # an operator's mistake, or a reboot's
    await agent.sync()
    guest = FakeGuest(host_ns, port["id"], port["mac_address"])
    try:
        await guest.attach(net_id, mtu=1450)
        assert (await guest.dhcp_lease(udhcpc_script))["ip"] == port["fixed_ips"][0]["ip_address"]
    finally:
        await ip.delete_netns(guest.netns)
    # Nothing plugged: a stopping cloud may remove it all.
    assert await agent.teardown_if_idle()
    assert not ip.netns_exists(names.dhcp_namespace(net_id))
