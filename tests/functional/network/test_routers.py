"""Routers (interfaces, gateway, routes), floating IPs and the auto-allocated topology."""

from __future__ import annotations

from typing import Any

from tests.functional.conftest import Cloud
from tests.functional.network.helpers import (
    V2,
    Caller,
    assert_neutron_error,
    create,
    ids,
    new_caller,
    show,
)


async def _external(cloud: Cloud, cidr: str = "172.24.4.0/24",
                    **attrs: Any) -> tuple[str, str]:
    admin = await cloud.admin_headers()
    network = await create(cloud, admin, "network", name="public", **{"router:external": True},
                           **attrs)
    subnet = await create(cloud, admin, "subnet", network_id=network["id"], ip_version=4,
                          cidr=cidr)
    return network["id"], subnet["id"]


async def _private(cloud: Cloud, caller: Caller, cidr: str = "10.1.0.0/24") -> tuple[str, str]:
    network = await create(cloud, caller.headers, "network", name="private")
    subnet = await create(cloud, caller.headers, "subnet", network_id=network["id"],
                          ip_version=4, cidr=cidr)
    return network["id"], subnet["id"]


async def _put(cloud: Cloud, caller: Caller, path: str, body: dict[str, Any]) -> Any:
    return await cloud.client.put(f"{V2}/{path}", headers=caller.headers, json=body)


async def test_router_interface_by_subnet_takes_the_gateway_ip(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    network, subnet = await _private(cloud, caller)
    router = await create(cloud, caller.headers, "router", name="r1")

    added = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet})
    again = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet})
    in_use = await cloud.client.delete(f"{V2}/routers/{router['id']}", headers=caller.headers)
    subnet_in_use = await cloud.client.delete(f"{V2}/subnets/{subnet}", headers=caller.headers)
    port_direct = await cloud.client.delete(f"{V2}/ports/{added.json()['port_id']}",
                                            headers=caller.headers)

    assert (router["status"], router["external_gateway_info"], router["routes"]) == (
        "ACTIVE", None, [])
    assert added.status_code == 200, added.text
    reply = added.json()
    assert (reply["id"], reply["subnet_id"], reply["subnet_ids"], reply["network_id"]) == (
        router["id"], subnet, [subnet], network)
    port = await show(cloud, caller.headers, "port", reply["port_id"])
    assert (port["device_owner"], port["device_id"], port["status"]) == (
        "network:router_interface", router["id"], "ACTIVE")
    assert port["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.1.0.1"}]
    assert port["security_groups"] == []
    assert_neutron_error(again, 400, "BadRequest")
    assert_neutron_error(in_use, 409, "RouterInUse")
    assert_neutron_error(subnet_in_use, 409, "SubnetInUse")
    assert_neutron_error(port_direct, 409, "L3PortInUse")

    removed = await _put(cloud, caller, f"routers/{router['id']}/remove_router_interface",
                         {"subnet_id": subnet})
    deleted = await cloud.client.delete(f"{V2}/routers/{router['id']}", headers=caller.headers)

    assert removed.status_code == 200, removed.text
    assert removed.json()["port_id"] == reply["port_id"]
    assert deleted.status_code == 204
    assert await ids(cloud, caller.headers, "port", f"?network_id={network}") == []


async def test_router_interface_by_port_and_bad_requests(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    network, subnet = await _private(cloud, caller)
    _, overlapping = await _private(cloud, caller, "10.1.0.0/25")
    router = await create(cloud, caller.headers, "router", name="r2")
    port = await create(cloud, caller.headers, "port", network_id=network)

    by_port = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                         {"port_id": port["id"]})
    overlap = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                         {"subnet_id": overlapping})
    both = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                      {"port_id": port["id"], "subnet_id": subnet})
    neither = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface", {})
    missing = await _put(cloud, caller, f"routers/{router['id']}/remove_router_interface",
                         {"subnet_id": overlapping})

    assert by_port.status_code == 200, by_port.text
    assert by_port.json()["port_id"] == port["id"]
    assert (await show(cloud, caller.headers, "port", port["id"]))["device_id"] == router["id"]
    assert_neutron_error(overlap, 400, "BadRequest")
    assert_neutron_error(both, 400, "BadRequest")
    assert_neutron_error(neither, 400, "BadRequest")
    assert_neutron_error(missing, 404, "RouterInterfaceNotFoundForSubnet")

    removed = await _put(cloud, caller, f"routers/{router['id']}/remove_router_interface",
                         {"port_id": port["id"]})

    assert removed.status_code == 200, removed.text
    assert port["id"] not in await ids(cloud, caller.headers, "port")


async def test_router_gateway_on_an_external_network(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, ext_subnet = await _external(cloud)
    private, _ = await _private(cloud, caller)
    router = await create(cloud, caller.headers, "router", name="gw",
                          external_gateway_info={"network_id": external})

    not_external = await _put(cloud, caller, f"routers/{router['id']}", {"router": {
        "external_gateway_info": {"network_id": private}}})
    snat_by_member = await _put(cloud, caller, f"routers/{router['id']}", {"router": {
        "external_gateway_info": {"network_id": external, "enable_snat": False}}})
    cleared = await _put(cloud, caller, f"routers/{router['id']}", {"router": {
        "external_gateway_info": {}}})

    gateway = router["external_gateway_info"]
    assert (gateway["network_id"], gateway["enable_snat"]) == (external, True)
    assert [f["subnet_id"] for f in gateway["external_fixed_ips"]] == [ext_subnet]
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")
    assert_neutron_error(not_external, 400, "BadRequest")
    assert_neutron_error(snat_by_member, 403)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["router"]["external_gateway_info"] is None
    admin = await cloud.admin_headers()
    assert await ids(cloud, admin, "port", f"?network_id={external}") == []

    by_admin = await cloud.client.put(f"{V2}/routers/{router['id']}", headers=admin, json={
        "router": {"external_gateway_info": {
            "network_id": external, "enable_snat": False,
            "external_fixed_ips": [{"ip_address": "172.24.4.100"}]}}})
    deleted = await cloud.client.delete(f"{V2}/routers/{router['id']}", headers=caller.headers)

    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["router"]["external_gateway_info"] == {
        "network_id": external, "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": ext_subnet, "ip_address": "172.24.4.100"}]}
    assert deleted.status_code == 204
    assert await ids(cloud, admin, "port", f"?network_id={external}") == []


async def test_router_routes_need_a_connected_nexthop(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    _, subnet = await _private(cloud, caller)
    router = await create(cloud, caller.headers, "router", name="routes")
    await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
               {"subnet_id": subnet})
    route = {"destination": "192.168.0.0/24", "nexthop": "10.1.0.10"}

    far = await _put(cloud, caller, f"routers/{router['id']}", {"router": {"routes": [
        {"destination": "192.168.0.0/24", "nexthop": "10.2.0.10"}]}})
    own = await _put(cloud, caller, f"routers/{router['id']}", {"router": {"routes": [
        {"destination": "192.168.0.0/24", "nexthop": "10.1.0.1"}]}})
    set_routes = await _put(cloud, caller, f"routers/{router['id']}",
                            {"router": {"routes": [route]}})
    needed = await _put(cloud, caller, f"routers/{router['id']}/remove_router_interface",
                        {"subnet_id": subnet})
    added = await _put(cloud, caller, f"routers/{router['id']}/add_extraroutes", {"router": {
        "routes": [{"destination": "192.168.1.0/24", "nexthop": "10.1.0.11"}]}})
    removed = await _put(cloud, caller, f"routers/{router['id']}/remove_extraroutes",
                         {"router": {"routes": [route]}})

    assert_neutron_error(far, 400, "InvalidRoutes")
    assert_neutron_error(own, 400, "InvalidRoutes")
    assert set_routes.json()["router"]["routes"] == [route]
    assert_neutron_error(needed, 409, "RouterInterfaceInUseByRoute")
    assert len(added.json()["router"]["routes"]) == 2
    assert removed.json()["router"]["routes"] == [
        {"destination": "192.168.1.0/24", "nexthop": "10.1.0.11"}]


async def test_router_of_another_project_is_not_found(cloud: Cloud) -> None:
    owner, other = await new_caller(cloud), await new_caller(cloud)
    router = await create(cloud, owner.headers, "router", name="mine")

    shown = await cloud.client.get(f"{V2}/routers/{router['id']}", headers=other.headers)

    assert_neutron_error(shown, 404, "RouterNotFound")
    assert await ids(cloud, other.headers, "router") == []


async def _reachable_port(cloud: Cloud, caller: Caller, external: str) -> tuple[str, str]:
    network, subnet = await _private(cloud, caller)
    router = await create(cloud, caller.headers, "router", name="edge",
                          external_gateway_info={"network_id": external})
    await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
               {"subnet_id": subnet})
    port = await create(cloud, caller.headers, "port", network_id=network)
    return port["id"], router["id"]


async def test_floating_ip_create_associate_disassociate_delete(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, _ = await _external(cloud)
    port_id, router_id = await _reachable_port(cloud, caller, external)

    fip = await create(cloud, caller.headers, "floatingip", floating_network_id=external)
    associated = await _put(cloud, caller, f"floatingips/{fip['id']}",
                            {"floatingip": {"port_id": port_id}})
    second = await create(cloud, caller.headers, "floatingip", floating_network_id=external)
    clash = await _put(cloud, caller, f"floatingips/{second['id']}",
                       {"floatingip": {"port_id": port_id}})
    wrong_ip = await _put(cloud, caller, f"floatingips/{second['id']}",
                          {"floatingip": {"port_id": port_id, "fixed_ip_address": "10.1.0.99"}})
    gateway_needed = await _put(cloud, caller, f"routers/{router_id}", {"router": {
        "external_gateway_info": None}})
    disassociated = await _put(cloud, caller, f"floatingips/{fip['id']}",
                               {"floatingip": {"port_id": None}})

    assert fip["floating_ip_address"].startswith("172.24.4.")
    assert (fip["port_id"], fip["router_id"], fip["status"]) == (None, None, "DOWN")
    body = associated.json()["floatingip"]
    assert (body["port_id"], body["router_id"], body["status"]) == (port_id, router_id, "ACTIVE")
    assert body["fixed_ip_address"].startswith("10.1.0.")
    assert_neutron_error(clash, 409, "FloatingIPPortAlreadyAssociated")
    assert_neutron_error(wrong_ip, 400, "BadRequest")
    assert_neutron_error(gateway_needed, 409, "RouterExternalGatewayInUseByFloatingIP")
    assert disassociated.json()["floatingip"]["port_id"] is None
    for item in (fip, second):
        resp = await cloud.client.delete(f"{V2}/floatingips/{item['id']}",
                                         headers=caller.headers)
        assert resp.status_code == 204
    assert await ids(cloud, caller.headers, "floatingip") == []
    assert await ids(cloud, await cloud.admin_headers(), "port",
                     "?device_owner=network:floatingip") == []


async def test_floating_ip_needs_a_router_between_port_and_external_network(
        cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, _ = await _external(cloud)
    network, _ = await _private(cloud, caller)
    port = await create(cloud, caller.headers, "port", network_id=network)

    resp = await cloud.client.post(f"{V2}/floatingips", headers=caller.headers, json={
        "floatingip": {"floating_network_id": external, "port_id": port["id"]}})
    private = await cloud.client.post(f"{V2}/floatingips", headers=caller.headers, json={
        "floatingip": {"floating_network_id": network}})

    assert_neutron_error(resp, 404, "ExternalGatewayForFloatingIPNotFound")
    assert_neutron_error(private, 400, "BadRequest")
    assert await ids(cloud, caller.headers, "floatingip") == []


async def test_floating_ip_deleting_the_port_disassociates(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, _ = await _external(cloud)
    port_id, _ = await _reachable_port(cloud, caller, external)
    fip = await create(cloud, caller.headers, "floatingip", floating_network_id=external,
                       port_id=port_id)

    deleted = await cloud.client.delete(f"{V2}/ports/{port_id}", headers=caller.headers)

    assert fip["port_id"] == port_id
    assert deleted.status_code == 204
    shown = await show(cloud, caller.headers, "floatingip", fip["id"])
    assert (shown["port_id"], shown["fixed_ip_address"], shown["router_id"]) == (None, None, None)


async def test_floating_ip_pool_exhausted_is_conflict(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, _ = await _external(cloud, cidr="172.24.5.0/30")

    first = await create(cloud, caller.headers, "floatingip", floating_network_id=external)
    second = await cloud.client.post(f"{V2}/floatingips", headers=caller.headers, json={
        "floatingip": {"floating_network_id": external}})

    assert first["floating_ip_address"] == "172.24.5.2"
    assert_neutron_error(second, 409, "IpAddressGenerationFailure")


async def test_router_and_floating_ip_quotas(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    caller = await new_caller(cloud)
    external, _ = await _external(cloud)
    await cloud.client.put(f"{V2}/quotas/{caller.project_id}", headers=admin,
                           json={"quota": {"router": 1, "floatingip": 0}})
    await create(cloud, caller.headers, "router", name="only")

    router = await cloud.client.post(f"{V2}/routers", headers=caller.headers,
                                     json={"router": {"name": "two"}})
    fip = await cloud.client.post(f"{V2}/floatingips", headers=caller.headers, json={
        "floatingip": {"floating_network_id": external}})

    assert_neutron_error(router, 409, "OverQuota")
    assert_neutron_error(fip, 409, "OverQuota")


async def test_auto_allocated_topology_needs_a_default_external_network(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    url = f"{V2}/auto-allocated-topology/{caller.project_id}"

    dry = await cloud.client.get(f"{url}?fields=dry-run", headers=caller.headers)
    made = await cloud.client.get(url, headers=caller.headers)
    gone = await cloud.client.delete(url, headers=caller.headers)

    assert_neutron_error(dry, 409, "AutoAllocationFailure")
    assert_neutron_error(made, 409, "AutoAllocationFailure")
    assert_neutron_error(gone, 404)
    assert await ids(cloud, caller.headers, "network") == []


async def test_auto_allocated_topology_made_once_and_deleted(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    external, _ = await _external(cloud, is_default=True)
    other_default = await cloud.client.post(f"{V2}/networks", headers=await cloud.admin_headers(),
                                            json={"network": {"router:external": True,
                                                              "is_default": True}})
    url = f"{V2}/auto-allocated-topology/{caller.project_id}"

    dry = await cloud.client.get(f"{url}?fields=dry-run", headers=caller.headers)
    first = await cloud.client.get(url, headers=caller.headers)
    second = await cloud.client.get(url, headers=caller.headers)

    assert_neutron_error(other_default, 409, "DefaultExternalNetworkExists")
    assert dry.json()["auto_allocated_topology"]["id"] == "dry-run=pass"
    assert first.status_code == 200, first.text
    topology = first.json()["auto_allocated_topology"]
    assert second.json()["auto_allocated_topology"] == topology
    assert topology["project_id"] == caller.project_id
    network = await show(cloud, caller.headers, "network", topology["id"])
    assert network["name"] == "auto_allocated_network" and len(network["subnets"]) == 1
    routers = (await cloud.client.get(f"{V2}/routers", headers=caller.headers)).json()["routers"]
    assert [r["external_gateway_info"]["network_id"] for r in routers] == [external]

    deleted = await cloud.client.delete(url, headers=caller.headers)

    assert deleted.status_code == 204
    assert await ids(cloud, caller.headers, "network") == [external]
    assert await ids(cloud, caller.headers, "router") == []


async def test_l3_extensions_are_listed(cloud: Cloud) -> None:
    resp = await cloud.client.get(f"{V2}/extensions", headers=await cloud.admin_headers())

    aliases = {e["alias"] for e in resp.json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic",
            "auto-allocated-topology"} <= aliases


async def test_floating_ip_free_goes_with_its_external_network(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    caller = await new_caller(cloud)
    external, _ = await _external(cloud)
    port_id, router_id = await _reachable_port(cloud, caller, external)
    free = await create(cloud, admin, "floatingip", floating_network_id=external)
    used = await create(cloud, admin, "floatingip", floating_network_id=external,
                        project_id=caller.project_id, port_id=port_id)

    refused = await cloud.client.delete(f"{V2}/networks/{external}", headers=admin)

    # A refused delete writes nothing: the free floating IP is still there.
    assert_neutron_error(refused, 409, "NetworkInUse")
    assert {free["id"], used["id"]} <= set(await ids(cloud, admin, "floatingip"))
    await cloud.client.delete(f"{V2}/floatingips/{used['id']}", headers=admin)
    await _put(cloud, caller, f"routers/{router_id}", {"router": {"external_gateway_info": None}})

    deleted = await cloud.client.delete(f"{V2}/networks/{external}", headers=admin)

    assert deleted.status_code == 204, deleted.text
    assert await ids(cloud, admin, "floatingip") == []
    assert await ids(cloud, admin, "port", f"?network_id={external}") == []


async def test_router_interface_port_stays_active_when_updated(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    _, subnet = await _private(cloud, caller)
    router = await create(cloud, caller.headers, "router", name="upd")
    added = await _put(cloud, caller, f"routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet})

    updated = await _put(cloud, caller, f"ports/{added.json()['port_id']}",
                         {"port": {"fixed_ips": [{"subnet_id": subnet}]}})
    cleared = await _put(cloud, caller, f"routers/{router['id']}", {"router": {"routes": None}})

    assert updated.status_code == 200, updated.text
    assert updated.json()["port"]["status"] == "ACTIVE"
    assert updated.json()["port"]["fixed_ips"][0]["ip_address"] == "10.1.0.1"
    assert cleared.json()["router"]["routes"] == []


async def test_subnet_of_an_external_network_says_so(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    _, external_subnet = await _external(cloud)
    _, own_subnet = await _private(cloud, caller)

    listed = await cloud.client.get(f"{V2}/subnets?router:external=True",
                                    headers=caller.headers)

    assert [s["id"] for s in listed.json()["subnets"]] == [external_subnet]
    assert (await show(cloud, caller.headers, "subnet", own_subnet))["router:external"] is False
