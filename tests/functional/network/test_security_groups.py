"""Security groups and rules: the default group on first use, CRUD, rule validation,
duplicates, visibility and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.conftest import Cloud
from tests.functional.network.helpers import (
    V2,
    assert_neutron_error,
    create,
    ids,
    new_caller,
    show,
)


def _rule_shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["remote_group_id"] is not None,
            rule["remote_ip_prefix"], rule["protocol"])


async def _groups(cloud: Cloud, headers: dict[str, str]) -> list[dict[str, Any]]:
    resp = await cloud.client.get(f"{V2}/security-groups", headers=headers)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["security_groups"]
    return found


async def test_security_group_default_appears_on_first_list_with_neutron_rules(
        cloud: Cloud) -> None:
    caller = await new_caller(cloud)

    first = await _groups(cloud, caller.headers)
    second = await _groups(cloud, caller.headers)

    assert [g["name"] for g in first] == ["default"]
    assert first == second
    default = first[0]
    assert default["project_id"] == caller.project_id
    assert sorted(_rule_shape(r) for r in default["security_group_rules"]) == [
        ("egress", "IPv4", False, None, None), ("egress", "IPv6", False, None, None),
        ("ingress", "IPv4", True, None, None), ("ingress", "IPv6", True, None, None)]
    assert all(r["remote_group_id"] in (None, default["id"])
               for r in default["security_group_rules"])
    assert all(r["belongs_to_default_sg"] for r in default["security_group_rules"])


async def test_security_group_create_has_egress_rules_and_every_attribute(cloud: Cloud) -> None:
    caller = await new_caller(cloud)

    group = await create(cloud, caller.headers, "security_group", name="web",
                         description="front")

    assert {"id", "name", "description", "stateful", "project_id", "tenant_id", "tags",
            "created_at", "updated_at", "revision_number", "security_group_rules",
            "shared"} <= set(group)
    assert (group["name"], group["description"], group["stateful"]) == ("web", "front", True)
    assert sorted(_rule_shape(r) for r in group["security_group_rules"]) == [
        ("egress", "IPv4", False, None, None), ("egress", "IPv6", False, None, None)]
    assert sorted(g["name"] for g in await _groups(cloud, caller.headers)) == ["default", "web"]


async def test_security_group_named_default_is_refused(cloud: Cloud) -> None:
    caller = await new_caller(cloud)

    resp = await cloud.client.post(f"{V2}/security-groups", headers=caller.headers,
                                   json={"security_group": {"name": "Default"}})

    assert_neutron_error(resp, 409, "SecurityGroupDefaultAlreadyExists")


async def test_security_group_update_and_delete(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="a")

    updated = await cloud.client.put(f"{V2}/security-groups/{group['id']}",
                                     headers=caller.headers,
                                     json={"security_group": {"name": "b", "description": "x"}})
    deleted = await cloud.client.delete(f"{V2}/security-groups/{group['id']}",
                                        headers=caller.headers)
    gone = await cloud.client.get(f"{V2}/security-groups/{group['id']}", headers=caller.headers)

    assert updated.status_code == 200, updated.text
    assert (updated.json()["security_group"]["name"],
            updated.json()["security_group"]["revision_number"]) == ("b", 1)
    assert deleted.status_code == 204
    assert_neutron_error(gone, 404, "SecurityGroupNotFound")


async def test_security_group_default_cannot_be_deleted_or_renamed_by_its_project(
        cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    default = (await _groups(cloud, caller.headers))[0]

    renamed = await cloud.client.put(f"{V2}/security-groups/{default['id']}",
                                     headers=caller.headers,
                                     json={"security_group": {"name": "other"}})
    deleted = await cloud.client.delete(f"{V2}/security-groups/{default['id']}",
                                        headers=caller.headers)
    by_admin = await cloud.client.delete(f"{V2}/security-groups/{default['id']}",
                                         headers=await cloud.admin_headers())

    assert_neutron_error(renamed, 409, "SecurityGroupCannotUpdateDefault")
    assert_neutron_error(deleted, 409, "SecurityGroupCannotRemoveDefault")
    assert by_admin.status_code == 204


async def test_security_group_of_another_project_is_not_found(cloud: Cloud) -> None:
    owner, other = await new_caller(cloud), await new_caller(cloud)
    group = await create(cloud, owner.headers, "security_group", name="mine")

    shown = await cloud.client.get(f"{V2}/security-groups/{group['id']}", headers=other.headers)
    rule = await cloud.client.post(f"{V2}/security-group-rules", headers=other.headers, json={
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress"}})

    bad_remote = await cloud.client.post(f"{V2}/security-group-rules", headers=owner.headers,
                                         json={"security_group_rule": {
                                             "security_group_id": group["id"],
                                             "direction": "ingress",
                                             "remote_group_id": "bad_group_id"}})

    assert_neutron_error(shown, 404, "SecurityGroupNotFound")
    assert_neutron_error(rule, 404, "SecurityGroupNotFound")
    assert_neutron_error(bad_remote, 404, "SecurityGroupNotFound")
    assert group["id"] not in await ids(cloud, other.headers, "security_group")
    assert group["id"] in await ids(cloud, await cloud.admin_headers(), "security_group")


async def test_security_group_rule_tcp_port_create_show_and_delete(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="ssh")

    rule = await create(cloud, caller.headers, "security_group_rule",
                        security_group_id=group["id"], direction="ingress", protocol="TCP",
                        port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.1/24")
    shown = await show(cloud, caller.headers, "security_group_rule", rule["id"])
    in_group = await show(cloud, caller.headers, "security_group", group["id"])
    deleted = await cloud.client.delete(f"{V2}/security-group-rules/{rule['id']}",
                                        headers=caller.headers)

    assert shown == rule
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["ethertype"], rule["remote_ip_prefix"], rule["normalized_cidr"]) == (
        "tcp", 22, 22, "IPv4", "10.0.0.1/24", "10.0.0.0/24")
    assert rule["id"] in {r["id"] for r in in_group["security_group_rules"]}
    assert in_group["revision_number"] == 1
    assert deleted.status_code == 204
    assert rule["id"] not in await ids(cloud, caller.headers, "security_group_rule")


async def test_security_group_rule_duplicate_is_conflict(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="dup")
    body = {"security_group_id": group["id"], "direction": "ingress", "protocol": "udp",
            "port_range_min": 53, "port_range_max": 53}
    first = await create(cloud, caller.headers, "security_group_rule", **body)

    again = await cloud.client.post(f"{V2}/security-group-rules", headers=caller.headers,
                                    json={"security_group_rule": {**body, "protocol": "17"}})
    egress = await cloud.client.post(f"{V2}/security-group-rules", headers=caller.headers,
                                     json={"security_group_rule": {
                                         "security_group_id": group["id"],
                                         "direction": "egress", "remote_ip_prefix": "0.0.0.0/0"}})
    in_post = await cloud.client.post(f"{V2}/security-group-rules", headers=caller.headers,
                                      json={"security_group_rules": [
                                          {**body, "port_range_max": 54},
                                          {**body, "port_range_max": 54}]})

    assert_neutron_error(again, 409, "SecurityGroupRuleExists")
    assert first["id"] in again.json()["NeutronError"]["message"]
    assert_neutron_error(egress, 409, "SecurityGroupRuleExists")
    assert_neutron_error(in_post, 400, "DuplicateSecurityGroupRuleInPost")


@pytest.mark.parametrize(("rule", "kind"), [
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20},
     "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 22}, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 10},
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "udp", "port_range_min": 1, "port_range_max": 70000},
     "SecurityGroupInvalidPortValue"),
    ({"port_range_min": 1, "port_range_max": 2}, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPortRange"),
    ({"protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": "256"}, "SecurityGroupRuleInvalidProtocol"),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "InvalidCIDR"),
    ({"remote_ip_prefix": "10.0.0.0/8", "ethertype": "IPv6"},
     "SecurityGroupRuleParameterConflict"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"},
     "SecurityGroupEthertypeConflictWithProtocol"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"},
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"direction": "sideways"}, "HTTPBadRequest"),
])
async def test_security_group_rule_bad_input_is_400(cloud: Cloud, rule: dict[str, Any],
                                                    kind: str) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="bad")
    body = {"security_group_id": group["id"], "direction": "ingress", **rule}
    if body.get("remote_group_id") == "SELF":
        body["remote_group_id"] = group["id"]

    resp = await cloud.client.post(f"{V2}/security-group-rules", headers=caller.headers,
                                   json={"security_group_rule": body})

    assert_neutron_error(resp, 400, kind)
    assert len((await show(cloud, caller.headers, "security_group",
                           group["id"]))["security_group_rules"]) == 2


async def test_security_group_rule_icmp_type_code_and_protocol_number(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="icmp")

    icmp = await create(cloud, caller.headers, "security_group_rule",
                        security_group_id=group["id"], direction="ingress", protocol="icmp",
                        port_range_min=8, port_range_max=0)
    numbered = await create(cloud, caller.headers, "security_group_rule",
                            security_group_id=group["id"], direction="ingress", protocol=112,
                            ethertype="ipv6", remote_ip_prefix="2001:db8::/64")

    assert (icmp["port_range_min"], icmp["port_range_max"]) == (8, 0)
    assert (numbered["protocol"], numbered["ethertype"]) == ("112", "IPv6")


async def test_security_group_rule_remote_group_goes_with_the_group(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    web = await create(cloud, caller.headers, "security_group", name="web")
    db = await create(cloud, caller.headers, "security_group", name="db")
    rule = await create(cloud, caller.headers, "security_group_rule", security_group_id=db["id"],
                        direction="ingress", protocol="tcp", port_range_min=5432,
                        port_range_max=5432, remote_group_id=web["id"])

    deleted = await cloud.client.delete(f"{V2}/security-groups/{web['id']}",
                                        headers=caller.headers)

    assert deleted.status_code == 204
    assert rule["id"] not in await ids(cloud, caller.headers, "security_group_rule")


async def test_security_group_quotas_count_groups_and_rules(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    caller = await new_caller(cloud)
    await _groups(cloud, caller.headers)
    resp = await cloud.client.put(f"{V2}/quotas/{caller.project_id}", headers=admin, json={
        "quota": {"security_group": 2, "security_group_rule": 6}})
    assert resp.status_code == 200, resp.text
    group = await create(cloud, caller.headers, "security_group", name="second")

    third = await cloud.client.post(f"{V2}/security-groups", headers=caller.headers,
                                    json={"security_group": {"name": "third"}})
    rule = await cloud.client.post(f"{V2}/security-group-rules", headers=caller.headers,
                                   json={"security_group_rule": {
                                       "security_group_id": group["id"],
                                       "direction": "ingress"}})
    details = await cloud.client.get(f"{V2}/quotas/{caller.project_id}/details", headers=admin)

    assert_neutron_error(third, 409, "OverQuota")
    assert_neutron_error(rule, 409, "OverQuota")
    assert details.json()["quota"]["security_group"] == {"limit": 2, "used": 2, "reserved": 0}
    assert details.json()["quota"]["security_group_rule"]["used"] == 6


async def test_security_group_extension_is_listed(cloud: Cloud) -> None:
    resp = await cloud.client.get(f"{V2}/extensions/security-group",
                                  headers=await cloud.admin_headers())

    assert resp.status_code == 200, resp.text


async def _network(cloud: Cloud, headers: dict[str, str]) -> str:
    network = await create(cloud, headers, "network", name="sg-net")
    await create(cloud, headers, "subnet", network_id=network["id"], ip_version=4,
                 cidr="10.9.0.0/24")
    return str(network["id"])


async def test_security_group_default_is_given_to_a_new_port_and_kept_in_use(
        cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    network = await _network(cloud, caller.headers)

    port = await create(cloud, caller.headers, "port", network_id=network)
    default = (await _groups(cloud, caller.headers))[0]
    unsecured = await create(cloud, caller.headers, "port", network_id=network,
                             port_security_enabled=False)
    router_owned = await create(cloud, await cloud.admin_headers(), "port", network_id=network,
                                project_id=caller.project_id,
                                device_owner="network:router_interface")
    by_admin = await cloud.client.delete(f"{V2}/security-groups/{default['id']}",
                                         headers=await cloud.admin_headers())

    assert port["security_groups"] == [default["id"]]
    assert unsecured["security_groups"] == []
    assert router_owned["security_groups"] == []
    assert_neutron_error(by_admin, 409, "SecurityGroupInUse")


async def test_security_group_in_use_by_a_port_until_the_port_leaves_it(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    network = await _network(cloud, caller.headers)
    group = await create(cloud, caller.headers, "security_group", name="app")
    port = await create(cloud, caller.headers, "port", network_id=network,
                        security_groups=[group["id"]])

    in_use = await cloud.client.delete(f"{V2}/security-groups/{group['id']}",
                                       headers=caller.headers)
    moved = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=caller.headers,
                                   json={"port": {"security_groups": []}})
    deleted = await cloud.client.delete(f"{V2}/security-groups/{group['id']}",
                                        headers=caller.headers)

    assert port["security_groups"] == [group["id"]]
    assert_neutron_error(in_use, 409, "SecurityGroupInUse")
    assert moved.status_code == 200, moved.text
    assert moved.json()["port"]["security_groups"] == []
    assert deleted.status_code == 204


async def test_security_group_unknown_or_foreign_ids_on_a_port_are_not_found(
        cloud: Cloud) -> None:
    caller, other = await new_caller(cloud), await new_caller(cloud)
    network = await _network(cloud, caller.headers)
    foreign = await create(cloud, other.headers, "security_group", name="theirs")
    port = await create(cloud, caller.headers, "port", network_id=network)

    created = await cloud.client.post(f"{V2}/ports", headers=caller.headers, json={"port": {
        "network_id": network, "security_groups": [foreign["id"]]}})
    updated = await cloud.client.put(f"{V2}/ports/{port['id']}", headers=caller.headers,
                                     json={"port": {"security_groups": [
                                         "0b1c2d3e-0000-4000-8000-000000000000"]}})

    assert_neutron_error(created, 404, "SecurityGroupNotFound")
    assert_neutron_error(updated, 404, "SecurityGroupNotFound")
    assert await ids(cloud, caller.headers, "port") == [port["id"]]


async def test_security_group_tags_filter_lists(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    group = await create(cloud, caller.headers, "security_group", name="tagged")

    added = await cloud.client.put(f"{V2}/security-groups/{group['id']}/tags/blue",
                                   headers=caller.headers)
    shown = await show(cloud, caller.headers, "security_group", group["id"])

    assert added.status_code == 201, added.text
    assert shown["tags"] == ["blue"]
    assert await ids(cloud, caller.headers, "security_group", "?tags=blue") == [group["id"]]
