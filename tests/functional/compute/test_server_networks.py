"""Servers with ports: the agent creates or binds them at build, `addresses` shows them, and a
delete or a failed build leaves no port of compute's behind."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.compute.helpers import V, upload_image, usage, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, cloud_variants, running_cloud

N = "/network/v2.0"
LATEST = {"OpenStack-API-Version": "compute 2.79"}


@pytest.fixture(params=cloud_variants())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend, bus = request.param
    async with running_cloud(backend, tmp_path, fake_hosts=2, bus=bus) as running:
        yield running


async def _network(cloud: Cloud, headers: dict[str, str], name: str,
                   cidr: str) -> tuple[str, str]:
    net = await cloud.client.post(f"{N}/networks", headers=headers, json={"network": {"name": name}})
    assert net.status_code == 201, net.text
    net_id: str = net.json()["network"]["id"]
    sub = await cloud.client.post(f"{N}/subnets", headers=headers, json={"subnet": {
        "network_id": net_id, "ip_version": 4, "cidr": cidr}})
    assert sub.status_code == 201, sub.text
    return net_id, sub.json()["subnet"]["id"]


async def _create(cloud: Cloud, headers: dict[str, str], image: str, networks: Any,
                  **extra: Any) -> Any:
    return await cloud.client.post(f"{V}/servers", headers={**headers, **LATEST}, json={
        "server": {"name": "vm", "imageRef": image, "flavorRef": "1", "networks": networks,
                   **extra}})


async def _boot(cloud: Cloud, headers: dict[str, str], image: str, networks: Any) -> dict[str, Any]:
    resp = await _create(cloud, headers, image, networks)
    assert resp.status_code == 202, resp.text
    server = await wait_for(cloud, {**headers, **LATEST}, resp.json()["server"]["id"],
                            "ACTIVE", "ERROR")
    assert server is not None
    return server


async def _ports(cloud: Cloud, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    resp = await cloud.client.get(f"{N}/ports", headers=headers, params=filters)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["ports"]
    return found


async def test_boot_with_a_network_gets_an_address_from_its_subnet(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, subnet_id = await _network(cloud, admin, "private", "10.0.0.0/24")

    server = await _boot(cloud, admin, image, [{"uuid": net_id}])

    assert server["status"] == "ACTIVE", server
    [port] = await _ports(cloud, admin, device_id=server["id"])
    [address] = server["addresses"]["private"]
    assert ipaddress.ip_address(address["addr"]) in ipaddress.ip_network("10.0.0.0/24")
    assert address == {"version": 4, "addr": port["fixed_ips"][0]["ip_address"],
                       "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
    assert port["fixed_ips"][0]["subnet_id"] == subnet_id
    assert port["binding:host_id"] == server["OS-EXT-SRV-ATTR:host"]
    assert port["device_owner"].startswith("compute:") and port["status"] == "ACTIVE"
    ips = await cloud.client.get(f"{V}/servers/{server['id']}/ips", headers=admin)
    assert ips.json() == {"addresses": {"private": [{"version": 4, "addr": address["addr"]}]}}
    listed = await cloud.client.get(f"{V}/servers/detail", headers=admin,
                                    params={"ip": address["addr"].replace(".", r"\.") + "$"})
    assert [s["id"] for s in listed.json()["servers"]] == [server["id"]]
    none = await cloud.client.get(f"{V}/servers", headers=admin, params={"ip": "^192\\.168\\."})
    assert none.json()["servers"] == []


async def test_boot_with_a_fixed_ip_and_with_a_port(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.1.0/24")
    made = await cloud.client.post(f"{N}/ports", headers=admin,
                                   json={"port": {"network_id": net_id, "name": "mine"}})
    port_id = made.json()["port"]["id"]

    fixed = await _boot(cloud, admin, image, [{"uuid": net_id, "fixed_ip": "10.0.1.77"}])
    given = await _boot(cloud, admin, image, [{"port": port_id}])

    assert fixed["addresses"]["private"][0]["addr"] == "10.0.1.77"
    assert given["addresses"]["private"][0]["addr"] == made.json()["port"]["fixed_ips"][0]["ip_address"]
    bound = (await cloud.client.get(f"{N}/ports/{port_id}", headers=admin)).json()["port"]
    assert bound["device_id"] == given["id"]
    assert bound["binding:host_id"] == given["OS-EXT-SRV-ATTR:host"]
    in_use = await _create(cloud, admin, image, [{"port": port_id}])
    assert in_use.status_code == 409, in_use.text
    assert in_use.json()["conflictingRequest"]["message"] == f"Port {port_id} is still in use."


async def test_delete_removes_created_ports_and_unbinds_given_ones(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.2.0/24")
    port_id = (await cloud.client.post(f"{N}/ports", headers=admin, json={
        "port": {"network_id": net_id}})).json()["port"]["id"]
    server = await _boot(cloud, admin, image, [{"uuid": net_id}, {"port": port_id}])
    assert len(server["addresses"]["private"]) == 2

    deleted = await cloud.client.delete(f"{V}/servers/{server['id']}", headers=admin)
    assert deleted.status_code == 204
    await wait_for(cloud, admin, server["id"], "DELETED")

    remaining = await _ports(cloud, admin, network_id=net_id)
    assert [p["id"] for p in remaining] == [port_id]
    assert remaining[0]["device_id"] == "" and remaining[0]["binding:host_id"] == ""


async def test_boot_with_networks_none_has_no_port(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.3.0/24")

    server = await _boot(cloud, admin, image, "none")

    assert server["status"] == "ACTIVE" and server["addresses"] == {}
    assert await _ports(cloud, admin, network_id=net_id) == []


async def test_port_create_failure_faults_with_no_port_or_allocation_left(cloud: Cloud) -> None:
    """The second interface's address is taken: every host fails to make it, and the first
    interface's port goes with each failure."""
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.4.0/24")
    taken = await cloud.client.post(f"{N}/ports", headers=admin, json={"port": {
        "network_id": net_id, "fixed_ips": [{"ip_address": "10.0.4.50"}]}})
    assert taken.status_code == 201, taken.text

    server = await _boot(cloud, admin, image,
                         [{"uuid": net_id}, {"uuid": net_id, "fixed_ip": "10.0.4.50"}])

    assert server["status"] == "ERROR", server
    assert "10.0.4.50" in server["fault"]["message"] or server["fault"]["code"] == 500
    assert [p["id"] for p in await _ports(cloud, admin, network_id=net_id)] == [
        taken.json()["port"]["id"]]
    assert sum((await usage(cloud, admin)).values()) == 0
    assert server["addresses"] == {}


async def test_bad_networks_are_refused_as_nova_does(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    missing = "3f4e1b8c-0d1a-4a57-9e55-5d1b2c3a4f60"

    unknown_net = await _create(cloud, admin, image, [{"uuid": missing}])
    unknown_port = await _create(cloud, admin, image, [{"port": missing}])
    bad_uuid = await _create(cloud, admin, image, [{"uuid": "nope"}])
    bad_ip = await _create(cloud, admin, image, [{"uuid": missing, "fixed_ip": "10.0.0.300"}])

    assert unknown_net.status_code == 400
    assert unknown_net.json()["badRequest"]["message"] == f"Network {missing} could not be found."
    assert unknown_port.status_code == 400
    assert unknown_port.json()["badRequest"]["message"] == f"Port id {missing} could not be found."
    assert bad_uuid.status_code == 400 and bad_ip.status_code == 400
    servers = await cloud.client.get(f"{V}/servers", headers=admin)
    assert servers.json()["servers"] == []


async def test_absent_networks_before_2_37_use_the_one_network_or_are_ambiguous(
        cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    old = {**admin, "OpenStack-API-Version": "compute 2.36"}
    body = {"server": {"name": "vm", "imageRef": image, "flavorRef": "1"}}
    await _network(cloud, admin, "only", "10.0.5.0/24")

    one = await cloud.client.post(f"{V}/servers", headers=old, json=body)
    assert one.status_code == 202, one.text
    server = await wait_for(cloud, admin, one.json()["server"]["id"], "ACTIVE", "ERROR")
    assert server is not None and list(server["addresses"]) == ["only"]

    await _network(cloud, admin, "second", "10.0.6.0/24")
    ambiguous = await cloud.client.post(f"{V}/servers", headers=old, json=body)
    assert ambiguous.status_code == 409, ambiguous.text
    assert ambiguous.json()["conflictingRequest"]["message"].startswith(
        "More than one possible network found.")


async def test_networks_follow_novas_schema_at_each_microversion(cloud: Cloud) -> None:
    """Before 2.37 `networks` is a list (no "none" or "auto"); interface tags are taken at
    2.32 to 2.36 and from 2.42, as in Nova's schemas."""
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.7.0/24")
    tagged = [{"uuid": net_id, "tag": "eth-a"}]

    async def create(version: str | None, networks: Any) -> Any:
        headers = {**admin, **({"OpenStack-API-Version": f"compute {version}"} if version else {})}
        return await cloud.client.post(f"{V}/servers", headers=headers, json={"server": {
            "name": "vm", "imageRef": image, "flavorRef": "1", "networks": networks}})

    refused = {"none at 2.1": await create(None, "none"),
               "none at 2.36": await create("2.36", "none"),
               "auto at 2.36": await create("2.36", "auto"),
               "other word at 2.37": await create("2.37", "some"),
               "tag at 2.31": await create("2.31", tagged),
               "tag at 2.37": await create("2.37", tagged),
               "tag at 2.41": await create("2.41", tagged)}
    listed = await cloud.client.get(f"{V}/servers", headers=admin)
    accepted = [await create("2.37", "none"), await create("2.32", tagged),
                await create("2.36", tagged), await create("2.42", tagged),
                await create("2.36", [{"uuid": net_id}])]

    assert {case: r.status_code for case, r in refused.items()} == dict.fromkeys(refused, 400)
    assert all("badRequest" in r.json() for r in refused.values())
    assert refused["none at 2.36"].json()["badRequest"]["message"] == (
        "Invalid input for field/attribute networks: 'none' is not of type 'array'")
    assert listed.json()["servers"] == []
    assert [r.status_code for r in accepted] == [202] * 5, [r.text for r in accepted]


async def test_interface_attach_and_detach_by_network_and_by_port(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, subnet_id = await _network(cloud, admin, "private", "10.0.7.0/24")
    server = await _boot(cloud, admin, image, "none")
    url = f"{V}/servers/{server['id']}/os-interface"
    own = (await cloud.client.post(f"{N}/ports", headers=admin, json={
        "port": {"network_id": net_id}})).json()["port"]

    by_net = await cloud.client.post(url, headers=admin, json={"interfaceAttachment": {
        "net_id": net_id, "fixed_ips": [{"ip_address": "10.0.7.9"}]}})
    by_port = await cloud.client.post(url, headers=admin, json={"interfaceAttachment": {
        "port_id": own["id"]}})

    assert by_net.status_code == 200, by_net.text
    made = by_net.json()["interfaceAttachment"]
    assert made["net_id"] == net_id and made["port_state"] == "ACTIVE"
    assert made["fixed_ips"] == [{"subnet_id": subnet_id, "ip_address": "10.0.7.9"}]
    assert by_port.status_code == 200, by_port.text
    listed = (await cloud.client.get(url, headers=admin)).json()["interfaceAttachments"]
    assert {i["port_id"] for i in listed} == {made["port_id"], own["id"]}
    shown = await cloud.client.get(f"{url}/{own['id']}", headers=admin)
    assert shown.json()["interfaceAttachment"]["mac_addr"] == own["mac_address"]
    view = await wait_for(cloud, {**admin, **LATEST}, server["id"], "ACTIVE")
    assert view is not None and len(view["addresses"]["private"]) == 2

    for port_id in (made["port_id"], own["id"]):
        gone = await cloud.client.delete(f"{url}/{port_id}", headers=admin)
        assert gone.status_code == 202, gone.text

    assert (await cloud.client.get(url, headers=admin)).json()["interfaceAttachments"] == []
    remaining = await _ports(cloud, admin, network_id=net_id)
    assert [(p["id"], p["device_id"]) for p in remaining] == [(own["id"], "")]
    view = await wait_for(cloud, {**admin, **LATEST}, server["id"], "ACTIVE")
    assert view is not None and view["addresses"] == {}
    again = await cloud.client.delete(f"{url}/{own['id']}", headers=admin)
    assert again.status_code == 404
    assert again.json()["itemNotFound"]["message"] == f"Port id {own['id']} could not be found."


async def test_interface_attach_refuses_bad_requests(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, _ = await _network(cloud, admin, "private", "10.0.8.0/24")
    server = await _boot(cloud, admin, image, [{"uuid": net_id}])
    url = f"{V}/servers/{server['id']}/os-interface"
    missing = "3f4e1b8c-0d1a-4a57-9e55-5d1b2c3a4f60"

    both = await cloud.client.post(url, headers=admin, json={"interfaceAttachment": {
        "net_id": net_id, "port_id": missing}})
    unknown = await cloud.client.post(url, headers=admin, json={"interfaceAttachment": {
        "net_id": missing}})
    taken = await cloud.client.post(url, headers=admin, json={"interfaceAttachment": {
        "net_id": net_id, "fixed_ips": [{"ip_address": server["addresses"]["private"][0]["addr"]}]}})

    assert both.status_code == 400 and unknown.status_code == 404
    assert taken.status_code == 409, taken.text
    assert len(await _ports(cloud, admin, network_id=net_id)) == 1


async def test_a_floating_ip_on_a_port_shows_as_floating(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    net_id, subnet_id = await _network(cloud, admin, "private", "10.0.9.0/24")
    public = await cloud.client.post(f"{N}/networks", headers=admin, json={"network": {
        "name": "public", "router:external": True}})
    public_id = public.json()["network"]["id"]
    await cloud.client.post(f"{N}/subnets", headers=admin, json={"subnet": {
        "network_id": public_id, "ip_version": 4, "cidr": "172.24.4.0/24"}})
    router = await cloud.client.post(f"{N}/routers", headers=admin, json={"router": {
        "name": "r", "external_gateway_info": {"network_id": public_id}}})
    router_id = router.json()["router"]["id"]
    joined = await cloud.client.put(f"{N}/routers/{router_id}/add_router_interface",
                                    headers=admin, json={"subnet_id": subnet_id})
    assert joined.status_code == 200, joined.text
    server = await _boot(cloud, admin, image, [{"uuid": net_id}])
    [port] = await _ports(cloud, admin, device_id=server["id"])

    fip = await cloud.client.post(f"{N}/floatingips", headers=admin, json={"floatingip": {
        "floating_network_id": public_id, "port_id": port["id"]}})

    assert fip.status_code == 201, fip.text
    address = fip.json()["floatingip"]["floating_ip_address"]
    shown = await wait_for(cloud, {**admin, **LATEST}, server["id"], "ACTIVE")
    assert shown is not None
    assert shown["addresses"]["private"][1] == {
        "version": 4, "addr": address, "OS-EXT-IPS:type": "floating",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
    ips = await cloud.client.get(f"{V}/servers/{server['id']}/ips/private", headers=admin)
    assert ips.json() == {"private": [{"version": 4, "addr": port["fixed_ips"][0]["ip_address"]},
                                      {"version": 4, "addr": address}]}


async def test_networks_auto_gives_the_project_its_auto_allocated_network(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    public = await cloud.client.post(f"{N}/networks", headers=admin, json={"network": {
        "name": "public", "router:external": True, "is_default": True}})
    assert public.status_code == 201, public.text
    await cloud.client.post(f"{N}/subnets", headers=admin, json={"subnet": {
        "network_id": public.json()["network"]["id"], "ip_version": 4,
        "cidr": "172.24.8.0/24"}})
    member = {"X-Auth-Token": await member_token(cloud)}

    server = await _boot(cloud, member, image, "auto")
    old = await cloud.client.post(f"{V}/servers", headers={
        **member, "OpenStack-API-Version": "compute 2.36"}, json={"server": {
            "name": "vm", "imageRef": image, "flavorRef": "1", "networks": "auto"}})

    assert server["status"] == "ACTIVE", server
    topology = await cloud.client.get(f"{N}/auto-allocated-topology/{server['tenant_id']}",
                                      headers=member)
    [port] = await _ports(cloud, member, device_id=server["id"])
    assert port["network_id"] == topology.json()["auto_allocated_topology"]["id"]
    assert [a["OS-EXT-IPS:type"] for a in sum(server["addresses"].values(), [])] == ["fixed"]
    assert old.status_code == 400, old.text


async def test_networks_auto_without_a_default_external_network_is_a_400(cloud: Cloud) -> None:
    """Nova's UnableToAutoAllocateNetwork: the network service's 409 (nothing to route the
    topology to) is the client's 400, and nothing is left behind."""
    admin = await cloud.admin_headers()
    image = await upload_image(cloud, admin)
    member = {"X-Auth-Token": await member_token(cloud)}

    resp = await _create(cloud, member, image, "auto", min_count=3)

    assert resp.status_code == 400, resp.text
    project = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        **member, "X-Subject-Token": member["X-Auth-Token"]})).json()["token"]["project"]["id"]
    assert resp.json() == {"badRequest": {
        "code": 400,
        "message": f"Unable to automatically allocate a network for project {project}"}}
    servers = await cloud.client.get(f"{V}/servers", headers=member)
    assert servers.json()["servers"] == []
    networks = await cloud.client.get(f"{N}/networks", headers=member)
    assert networks.json()["networks"] == []
