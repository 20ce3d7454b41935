"""Tags on networks, subnets and ports with the tag filters; network IP availability."""

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


async def test_tags_add_check_replace_remove(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")
    tags_url = f"{V2}/networks/{network['id']}/tags"

    added = await cloud.client.put(f"{tags_url}/red", headers=headers)
    present = await cloud.client.get(f"{tags_url}/red", headers=headers)
    absent = await cloud.client.get(f"{tags_url}/blue", headers=headers)
    replaced = await cloud.client.put(tags_url, headers=headers,
                                      json={"tags": ["b", "a", "b"]})
    removed = await cloud.client.delete(f"{tags_url}/a", headers=headers)
    missing = await cloud.client.delete(f"{tags_url}/a", headers=headers)
    bad = await cloud.client.put(f"{tags_url}", headers=headers, json={"tags": ["x,y"]})

    assert added.status_code == 201 and present.status_code == 204
    assert_neutron_error(absent, 404, "TagNotFound")
    assert replaced.json() == {"tags": ["a", "b"]}
    assert removed.status_code == 204
    assert_neutron_error(missing, 404, "TagNotFound")
    assert_neutron_error(bad, 400)
    shown = await show(cloud, headers, "network", network["id"])
    assert shown["tags"] == ["b"]
    assert shown["revision_number"] == network["revision_number"] + 3
    cleared = await cloud.client.delete(tags_url, headers=headers)
    assert cleared.status_code == 204
    assert (await cloud.client.get(tags_url, headers=headers)).json() == {"tags": []}


async def test_tag_filters_on_subnets_and_ports(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    network = await create(cloud, headers, "network")
    subnet = await create(cloud, headers, "subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    ports = [await create(cloud, headers, "port", network_id=network["id"]) for _ in range(3)]
    for port, tags in zip(ports, (["a", "b"], ["a"], ["c"]), strict=True):
        resp = await cloud.client.put(f"{V2}/ports/{port['id']}/tags", headers=headers,
                                      json={"tags": tags})
        assert resp.status_code == 200, resp.text
    await cloud.client.put(f"{V2}/subnets/{subnet['id']}/tags/s", headers=headers)
    base = f"?network_id={network['id']}"

    assert await ids(cloud, headers, "port", f"{base}&tags=a,b") == [ports[0]["id"]]
    assert sorted(await ids(cloud, headers, "port", f"{base}&tags-any=b,c")) == sorted(
        [ports[0]["id"], ports[2]["id"]])
    assert sorted(await ids(cloud, headers, "port", f"{base}&not-tags=a,b")) == sorted(
        [ports[1]["id"], ports[2]["id"]])
    assert await ids(cloud, headers, "port", f"{base}&not-tags-any=a") == [ports[2]["id"]]
    assert await ids(cloud, headers, "subnet", "?tags=s") == [subnet["id"]]


async def test_tags_on_others_resources(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    private = await create(cloud, headers, "network")
    shared = await create(cloud, headers, "network", shared=True)

    hidden = await cloud.client.put(f"{V2}/networks/{private['id']}/tags/x",
                                    headers=member.headers)
    forbidden = await cloud.client.put(f"{V2}/networks/{shared['id']}/tags/x",
                                       headers=member.headers)
    unknown = await cloud.client.get(f"{V2}/widgets/{shared['id']}/tags", headers=headers)

    assert_neutron_error(hidden, 404, "NetworkNotFound")
    assert_neutron_error(forbidden, 403)
    assert_neutron_error(unknown, 404)


async def test_network_ip_availability_counts_pools_and_ports(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    member = await new_caller(cloud)
    network = await create(cloud, headers, "network", name="avail")
    subnet = await create(cloud, headers, "subnet", network_id=network["id"], ip_version=4,
                          cidr="10.30.0.0/28")
    for _ in range(3):
        await create(cloud, headers, "port", network_id=network["id"])

    shown = await cloud.client.get(f"{V2}/network-ip-availabilities/{network['id']}",
                                   headers=headers)
    listed = await cloud.client.get(f"{V2}/network-ip-availabilities?network_id={network['id']}",
                                    headers=headers)
    refused = await cloud.client.get(f"{V2}/network-ip-availabilities", headers=member.headers)

    assert shown.status_code == 200, shown.text
    availability = shown.json()["network_ip_availability"]
    assert availability["total_ips"] == 13 and availability["used_ips"] == 3
    assert availability["network_name"] == "avail"
    assert availability["subnet_ip_availability"] == [{
        "subnet_id": subnet["id"], "subnet_name": "", "cidr": "10.30.0.0/28", "ip_version": 4,
        "total_ips": 13, "used_ips": 3}]
    assert listed.json()["network_ip_availabilities"] == [availability]
    assert_neutron_error(refused, 403)
