"""Networks: version documents, extensions, create/show/list/update/delete, visibility,
provider attributes, quotas on create, and Neutron's list semantics."""

from __future__ import annotations

from tests.functional.conftest import Cloud
from tests.functional.network.helpers import (
    V2,
    assert_neutron_error,
    create,
    ids,
    new_caller,
    show,
)

NETWORK_KEYS = {"id", "name", "status", "subnets", "admin_state_up", "shared", "router:external",
                "mtu", "port_security_enabled", "availability_zones", "availability_zone_hints",
                "description", "tags", "created_at", "updated_at", "revision_number", "project_id",
                "tenant_id", "provider:network_type", "provider:physical_network",
                "provider:segmentation_id", "is_default"}
PROVIDER = {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}


async def test_versions_are_public_and_list_v2_0(cloud: Cloud) -> None:
    resp = await cloud.client.get("/network/")

    assert resp.status_code == 200
    assert resp.json() == {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": "http://nimbus.test/network/v2.0/"}]}]}


async def test_v2_0_root_lists_core_collections(cloud: Cloud) -> None:
    resp = await cloud.client.get(V2, headers=await cloud.admin_headers())

    assert resp.status_code == 200, resp.text
    assert {r["collection"] for r in resp.json()["resources"]} >= {"networks", "subnets", "ports"}


async def test_requests_without_a_token_are_401_in_neutron_shape(cloud: Cloud) -> None:
    resp = await cloud.client.get(f"{V2}/networks")

    assert_neutron_error(resp, 401)


async def test_extensions_list_and_show_by_alias(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    listed = await cloud.client.get(f"{V2}/extensions", headers=headers)
    shown = await cloud.client.get(f"{V2}/extensions/external-net", headers=headers)
    missing = await cloud.client.get(f"{V2}/extensions/no-such-thing", headers=headers)

    assert listed.status_code == 200
    aliases = {e["alias"] for e in listed.json()["extensions"]}
    assert {"external-net", "provider", "net-mtu", "project-id"} <= aliases
    assert "qos" not in aliases
    assert shown.json()["extension"]["name"] == "Neutron external network"
    assert_neutron_error(missing, 404, "ExtensionNotFound")


async def test_create_network_has_every_attribute_with_defaults(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network", name="net1", description="first")

    assert set(network) == NETWORK_KEYS
    assert network["status"] == "ACTIVE" and network["admin_state_up"] is True
    assert network["shared"] is False and network["router:external"] is False
    assert network["mtu"] == 1500 and network["subnets"] == [] and network["tags"] == []
    assert network["revision_number"] == 0
    assert network["project_id"] == network["tenant_id"]
    assert network["created_at"].endswith("Z")
    assert await show(cloud, headers, "network", network["id"]) == network


async def test_member_sees_no_provider_attributes_and_cannot_set_them(cloud: Cloud) -> None:
    member = await new_caller(cloud)
    network = await create(cloud, member.headers, "network", name="mine")
    refused = await cloud.client.post(f"{V2}/networks", headers=member.headers, json={
        "network": {"provider:network_type": "vlan", "provider:physical_network": "physnet1"}})
    shared = await cloud.client.post(f"{V2}/networks", headers=member.headers,
                                     json={"network": {"shared": True}})

    assert not PROVIDER & set(network)
    assert network["project_id"] == member.project_id
    assert_neutron_error(refused, 403, "PolicyNotAuthorized")
    assert_neutron_error(shared, 403, "PolicyNotAuthorized")


async def test_admin_creates_vlan_network_and_duplicate_segment_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    body = {"provider:network_type": "vlan", "provider:physical_network": "physnet1",
            "provider:segmentation_id": 101}
    network = await create(cloud, headers, "network", **body)
    again = await cloud.client.post(f"{V2}/networks", headers=headers, json={"network": body})
    auto = await create(cloud, headers, "network", **{"provider:network_type": "vxlan"})

    assert network["provider:segmentation_id"] == 101
    assert_neutron_error(again, 409, "SegmentationIdInUse")
    assert auto["provider:segmentation_id"] == 1


async def test_bad_network_bodies_are_400(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    for body in ({"network": {"name": 5}}, {"network": {"bogus": 1}}, {"net": {}},
                 {"network": {"admin_state_up": "maybe"}}, {"network": {"status": "DOWN"}},
                 {"network": {"mtu": 9000}}):
        resp = await cloud.client.post(f"{V2}/networks", headers=headers, json=body)
        assert_neutron_error(resp, 400)
    malformed = await cloud.client.post(f"{V2}/networks", headers=headers, content=b"{",
                                        )
    assert_neutron_error(malformed, 400)


async def test_bulk_create_is_all_or_nothing(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    ok = await cloud.client.post(f"{V2}/networks", headers=headers, json={
        "networks": [{"name": "b1"}, {"name": "b2"}]})
    bad = await cloud.client.post(f"{V2}/networks", headers=headers, json={
        "networks": [{"name": "b3"}, {"name": "b4", "provider:network_type": "flat"}]})

    assert ok.status_code == 201 and [n["name"] for n in ok.json()["networks"]] == ["b1", "b2"]
    assert_neutron_error(bad, 400, "InvalidInput")
    assert await ids(cloud, headers, "network", "?name=b3") == []


async def test_update_network_bumps_revision_and_rejects_read_only(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network", name="before")
    resp = await cloud.client.put(f"{V2}/networks/{network['id']}", headers=headers,
                                  json={"network": {"name": "after", "mtu": 1400}})
    read_only = await cloud.client.put(f"{V2}/networks/{network['id']}", headers=headers,
                                       json={"network": {"status": "DOWN"}})

    assert resp.status_code == 200, resp.text
    updated = resp.json()["network"]
    assert updated["name"] == "after" and updated["mtu"] == 1400
    assert updated["revision_number"] == network["revision_number"] + 1
    assert_neutron_error(read_only, 400, "HTTPBadRequest")


async def test_others_networks_are_404_unless_shared(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    private = await create(cloud, headers, "network", name="private")
    shared = await create(cloud, headers, "network", name="shared", shared=True)

    hidden = await cloud.client.get(f"{V2}/networks/{private['id']}", headers=member.headers)
    deleting = await cloud.client.delete(f"{V2}/networks/{private['id']}", headers=member.headers)
    listed = await ids(cloud, member.headers, "network")
    delete_shared = await cloud.client.delete(f"{V2}/networks/{shared['id']}",
                                              headers=member.headers)

    assert_neutron_error(hidden, 404, "NetworkNotFound")
    assert_neutron_error(deleting, 404, "NetworkNotFound")
    assert listed == [shared["id"]]
    assert_neutron_error(delete_shared, 403)


async def test_delete_network_then_it_is_gone(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")

    first = await cloud.client.delete(f"{V2}/networks/{network['id']}", headers=headers)
    second = await cloud.client.delete(f"{V2}/networks/{network['id']}", headers=headers)

    assert first.status_code == 204
    assert_neutron_error(second, 404, "NetworkNotFound")


async def test_list_filters_fields_sorting_and_pages(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    made = [await create(cloud, headers, "network", name=f"pg-{i}", admin_state_up=i != 2)
            for i in range(5)]
    by_name = await cloud.client.get(f"{V2}/networks?name=pg-1&name=pg-3&fields=id&fields=name",
                                     headers=headers)
    down = await ids(cloud, headers, "network", "?admin_state_up=False")
    desc = await cloud.client.get(f"{V2}/networks?sort_key=name&sort_dir=desc", headers=headers)

    assert sorted(n["name"] for n in by_name.json()["networks"]) == ["pg-1", "pg-3"]
    assert all(set(n) == {"id", "name"} for n in by_name.json()["networks"])
    assert down == [made[2]["id"]]
    assert [n["name"] for n in desc.json()["networks"]] == [f"pg-{i}" for i in range(4, -1, -1)]

    seen: list[str] = []
    url: str | None = f"{V2}/networks?limit=2&sort_key=name&sort_dir=asc"
    while url:
        page = await cloud.client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        seen += [n["name"] for n in page.json()["networks"]]
        nexts = [link["href"] for link in page.json().get("networks_links", [])
                 if link["rel"] == "next"]
        url = nexts[0].removeprefix("http://nimbus.test") if nexts else None
    assert seen == [f"pg-{i}" for i in range(5)]


async def test_network_quota_is_409_over_quota(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    set_quota = await cloud.client.put(f"{V2}/quotas/{member.project_id}", headers=headers,
                                       json={"quota": {"network": 1}})
    await create(cloud, member.headers, "network")
    over = await cloud.client.post(f"{V2}/networks", headers=member.headers,
                                   json={"network": {}})

    assert set_quota.status_code == 200, set_quota.text
    assert set_quota.json()["quota"]["network"] == 1
    assert_neutron_error(over, 409, "OverQuota")
