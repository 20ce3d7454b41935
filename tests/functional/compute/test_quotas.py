"""Limits and os-quota-sets through /compute/v2.1, and the quotas they enforce on key pairs,
server metadata, server groups and group members."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dbs import backends
from tests.functional.compute.helpers import (
    V,
    boot,
    server_body,
    set_quota,
    ssh_public_key,
    upload_image,
    wait_for,
)
from tests.functional.compute.users import member_token, project_of
from tests.functional.conftest import Cloud, running_cloud

NETWORK_LIMITS = {"maxSecurityGroupRules", "maxSecurityGroups", "maxTotalFloatingIps",
                  "totalSecurityGroupsUsed", "totalFloatingIpsUsed"}
PERSONALITY_LIMITS = {"maxPersonality", "maxPersonalitySize"}
LIMITS_257 = {"maxServerMeta", "maxTotalCores", "maxTotalInstances", "maxTotalKeypairs",
              "maxTotalRAMSize", "maxServerGroups", "maxServerGroupMembers", "totalCoresUsed",
              "totalInstancesUsed", "totalRAMUsed", "totalServerGroupsUsed"}
QUOTAS_257 = {"cores", "instances", "key_pairs", "metadata_items", "ram", "server_groups",
              "server_group_members"}
PERSONALITY_QUOTAS = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
NETWORK_QUOTAS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1) as running:
        yield running


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def absolute(cloud: Cloud, headers: dict[str, str], version: str = "2.1",
                   query: str = "") -> dict[str, int]:
    resp = await cloud.client.get(f"{V}/limits{query}", headers={**headers, **mv(version)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["limits"]["rate"] == []
    found: dict[str, int] = resp.json()["limits"]["absolute"]
    return found


# -- limits ----------------------------------------------------------------------------------


async def test_limits_shape_by_microversion(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()

    at_21 = await absolute(cloud, admin)
    at_236 = await absolute(cloud, admin, "2.36")
    at_239 = await absolute(cloud, admin, "2.39")
    at_257 = await absolute(cloud, admin, "2.57")

    assert set(at_21) == LIMITS_257 | NETWORK_LIMITS | PERSONALITY_LIMITS | {"maxImageMeta"}
    assert set(at_236) == LIMITS_257 | PERSONALITY_LIMITS | {"maxImageMeta"}
    assert set(at_239) == LIMITS_257 | PERSONALITY_LIMITS
    assert set(at_257) == LIMITS_257
    assert (at_21["maxTotalInstances"], at_21["maxTotalCores"], at_21["maxTotalRAMSize"]) == (
        10, 20, 51200)
    assert (at_21["maxTotalKeypairs"], at_21["maxServerMeta"], at_21["maxImageMeta"]) == (
        100, 128, 128)
    assert (at_21["maxPersonality"], at_21["maxPersonalitySize"]) == (5, 10240)
    assert at_21["maxSecurityGroups"] == -1 and at_21["totalFloatingIpsUsed"] == 0


async def test_limits_count_usage(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await boot(cloud, admin, await upload_image(cloud, admin))
    await cloud.client.post(f"{V}/os-server-groups", headers=admin, json={
        "server_group": {"name": "g", "policies": ["affinity"]}})

    used = await absolute(cloud, admin, "2.57")

    assert (used["totalInstancesUsed"], used["totalCoresUsed"], used["totalRAMUsed"]) == (1, 1, 512)
    assert used["totalServerGroupsUsed"] == 1
    await wait_for(cloud, admin, server, "ACTIVE")


async def test_limits_of_another_project_are_for_admins(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    token = await member_token(cloud)
    member_project = await project_of(cloud, token)
    await set_quota(cloud, member_project, instances=3)

    theirs = await absolute(cloud, admin, query=f"?tenant_id={member_project}")
    own = await absolute(cloud, {"X-Auth-Token": token})
    refused = await cloud.client.get(f"{V}/limits?tenant_id={member_project}",
                                     headers={"X-Auth-Token": token})
    strict = await cloud.client.get(f"{V}/limits?foo=1", headers={**admin, **mv("2.75")})

    assert theirs["maxTotalInstances"] == own["maxTotalInstances"] == 3
    assert refused.status_code == 403
    assert strict.status_code == 400


# -- quota sets ------------------------------------------------------------------------------


async def test_show_defaults_and_detail(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = str(uuid.uuid4())
    await boot(cloud, admin, await upload_image(cloud, admin))
    own = await project_of(cloud, admin["X-Auth-Token"])

    shown = (await cloud.client.get(f"{V}/os-quota-sets/{project}", headers=admin)).json()
    defaults = (await cloud.client.get(f"{V}/os-quota-sets/{project}/defaults",
                                       headers={**admin, **mv("2.57")})).json()
    detail = (await cloud.client.get(f"{V}/os-quota-sets/{own}/detail",
                                     headers={**admin, **mv("2.36")})).json()

    body = shown["quota_set"]
    assert body["id"] == project
    assert set(body) == {"id"} | QUOTAS_257 | PERSONALITY_QUOTAS | NETWORK_QUOTAS
    assert (body["instances"], body["cores"], body["ram"], body["key_pairs"]) == (10, 20, 51200, 100)
    assert (body["injected_files"], body["floating_ips"]) == (5, -1)
    assert set(defaults["quota_set"]) == {"id"} | QUOTAS_257
    assert detail["quota_set"]["instances"] == {"in_use": 1, "limit": 10, "reserved": 0}
    assert detail["quota_set"]["cores"] == {"in_use": 1, "limit": 20, "reserved": 0}
    assert detail["quota_set"]["key_pairs"]["in_use"] == 0
    assert set(detail["quota_set"]) == {"id"} | QUOTAS_257 | PERSONALITY_QUOTAS


async def test_update_then_delete_reverts_to_defaults(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = str(uuid.uuid4())

    updated = await set_quota(cloud, project, instances=5, cores="8", ram=-1)
    shown = (await cloud.client.get(f"{V}/os-quota-sets/{project}", headers=admin)).json()
    other = (await cloud.client.get(f"{V}/os-quota-sets/{uuid.uuid4()}", headers=admin)).json()
    deleted = await cloud.client.delete(f"{V}/os-quota-sets/{project}", headers=admin)
    after = (await cloud.client.get(f"{V}/os-quota-sets/{project}", headers=admin)).json()

    assert updated.status_code == 200, updated.text
    assert "id" not in updated.json()["quota_set"]
    assert (updated.json()["quota_set"]["instances"], updated.json()["quota_set"]["cores"]) == (5, 8)
    assert shown["quota_set"]["ram"] == -1 and shown["quota_set"]["instances"] == 5
    assert other["quota_set"]["instances"] == 10
    assert deleted.status_code == 202
    assert after["quota_set"]["instances"] == 10 and after["quota_set"]["ram"] == 51200


async def test_update_below_usage_needs_force(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    own = await project_of(cloud, admin["X-Auth-Token"])
    server = await boot(cloud, admin, await upload_image(cloud, admin))
    await boot(cloud, admin, await upload_image(cloud, admin))

    refused = await set_quota(cloud, own, instances=1, cores=40)
    unchanged = (await cloud.client.get(f"{V}/os-quota-sets/{own}", headers=admin)).json()
    forced = await set_quota(cloud, own, instances=1, force=True)

    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == (
        "Quota limit 1 for instances must be greater than or equal to already used and "
        "reserved 2.")
    assert unchanged["quota_set"]["instances"] == 10 and unchanged["quota_set"]["cores"] == 20
    assert forced.status_code == 200 and forced.json()["quota_set"]["instances"] == 1
    over = await cloud.client.post(f"{V}/servers", headers={**admin, **mv("2.37")},
                                   json=server_body(await upload_image(cloud, admin)))
    assert over.status_code == 403 and "instances" in over.json()["forbidden"]["message"]
    await wait_for(cloud, admin, server, "ACTIVE")


async def test_update_refuses_bad_values_and_dropped_keys(cloud: Cloud) -> None:
    project = str(uuid.uuid4())

    cases = [
        await set_quota(cloud, project, instances=-2),
        await set_quota(cloud, project, instances="ten"),
        await set_quota(cloud, project, instances=2**31),
        await set_quota(cloud, project, instances=True),
        await set_quota(cloud, project, instances=None),
        await set_quota(cloud, project, networks=3),
        await set_quota(cloud, project, "2.36", floating_ips=3),
        await set_quota(cloud, project, "2.57", injected_files=3),
        await set_quota(cloud, project, force="perhaps", instances=3),
    ]
    missing = await cloud.client.put(f"{V}/os-quota-sets/{project}",
                                     headers=await cloud.admin_headers(), json={"instances": 3})

    assert [r.status_code for r in cases] == [400] * len(cases)
    assert "'floating_ips' was unexpected" in cases[6].json()["badRequest"]["message"]
    assert missing.status_code == 400
    assert (await set_quota(cloud, project, "2.35", floating_ips=3)).status_code == 200
    shown = (await cloud.client.get(f"{V}/os-quota-sets/{project}",
                                    headers=await cloud.admin_headers())).json()["quota_set"]
    assert shown["instances"] == 10 and shown["floating_ips"] == 3


async def test_members_read_their_own_quotas_only(cloud: Cloud) -> None:
    token = await member_token(cloud)
    member = {"X-Auth-Token": token}
    own = await project_of(cloud, token)

    shown = await cloud.client.get(f"{V}/os-quota-sets/{own}", headers=member)
    detail = await cloud.client.get(f"{V}/os-quota-sets/{own}/detail", headers=member)
    other = await cloud.client.get(f"{V}/os-quota-sets/{uuid.uuid4()}", headers=member)
    defaults = await cloud.client.get(f"{V}/os-quota-sets/{uuid.uuid4()}/defaults", headers=member)
    update = await cloud.client.put(f"{V}/os-quota-sets/{own}", headers=member,
                                    json={"quota_set": {"instances": 50}})
    delete = await cloud.client.delete(f"{V}/os-quota-sets/{own}", headers=member)

    assert shown.status_code == detail.status_code == defaults.status_code == 200
    assert other.status_code == update.status_code == delete.status_code == 403


async def test_user_quotas_are_not_kept(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    project = str(uuid.uuid4())

    shown = await cloud.client.get(f"{V}/os-quota-sets/{project}?user_id=u1", headers=admin)
    refused = await cloud.client.put(f"{V}/os-quota-sets/{project}?user_id=u1", headers=admin,
                                     json={"quota_set": {"instances": 1}})
    strict = await cloud.client.get(f"{V}/os-quota-sets/{project}?foo=1",
                                    headers={**admin, **mv("2.75")})

    assert shown.status_code == 200 and shown.json()["quota_set"]["instances"] == 10
    assert refused.status_code == 400
    assert strict.status_code == 400


# -- what the quotas enforce -------------------------------------------------------------------


async def test_key_pairs_quota(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await set_quota(cloud, await project_of(cloud, admin["X-Auth-Token"]), key_pairs=1)

    first = await cloud.client.post(f"{V}/os-keypairs", headers=admin, json={
        "keypair": {"name": "k1", "public_key": ssh_public_key()[0]}})
    second = await cloud.client.post(f"{V}/os-keypairs", headers=admin, json={
        "keypair": {"name": "k2", "public_key": ssh_public_key()[0]}})

    assert first.status_code == 200
    assert second.status_code == 403
    assert second.json() == {"forbidden": {"code": 403,
                                           "message": "Quota exceeded, too many key pairs."}}
    listed = (await cloud.client.get(f"{V}/os-keypairs", headers=admin)).json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["k1"]


async def test_server_groups_quota(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await set_quota(cloud, await project_of(cloud, admin["X-Auth-Token"]), server_groups=1)
    body = {"server_group": {"name": "g", "policies": ["anti-affinity"]}}

    first = await cloud.client.post(f"{V}/os-server-groups", headers=admin, json=body)
    second = await cloud.client.post(f"{V}/os-server-groups", headers=admin, json=body)

    assert first.status_code == 200
    assert second.status_code == 403
    assert second.json()["forbidden"]["message"] == "Quota exceeded, too many server groups."
    listed = (await cloud.client.get(f"{V}/os-server-groups", headers=admin)).json()
    assert len(listed["server_groups"]) == 1


async def test_server_group_members_quota(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await set_quota(cloud, await project_of(cloud, admin["X-Auth-Token"]), server_group_members=1)
    group = (await cloud.client.post(f"{V}/os-server-groups", headers=admin, json={
        "server_group": {"name": "g", "policies": ["affinity"]}})).json()["server_group"]
    image = await upload_image(cloud, admin)
    hints = {"os:scheduler_hints": {"group": group["id"]}}

    first = await cloud.client.post(f"{V}/servers", headers={**admin, **mv("2.37")},
                                    json={**server_body(image), **hints})
    second = await cloud.client.post(f"{V}/servers", headers={**admin, **mv("2.37")},
                                     json={**server_body(image, name="vm2"), **hints})

    assert first.status_code == 202, first.text
    assert second.status_code == 403
    assert second.json()["forbidden"]["message"] == "Quota exceeded, too many servers in group"
    servers = (await cloud.client.get(f"{V}/servers", headers=admin)).json()["servers"]
    assert [s["name"] for s in servers] == ["vm"]
    await wait_for(cloud, admin, first.json()["server"]["id"], "ACTIVE")


async def test_metadata_items_quota(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    await set_quota(cloud, await project_of(cloud, admin["X-Auth-Token"]), metadata_items=2)
    server_id = await boot(cloud, admin, await upload_image(cloud, admin), metadata={"a": "1"})
    await wait_for(cloud, admin, server_id, "ACTIVE")
    url = f"{V}/servers/{server_id}/metadata"

    fits = await cloud.client.post(url, headers=admin, json={"metadata": {"b": "2"}})
    over = await cloud.client.post(url, headers=admin, json={"metadata": {"c": "3"}})
    over_one = await cloud.client.put(f"{url}/c", headers=admin, json={"meta": {"c": "3"}})
    replaced = await cloud.client.put(url, headers=admin, json={"metadata": {"x": "1", "y": "2"}})

    assert fits.status_code == 200
    assert over.status_code == over_one.status_code == 403
    assert over.json()["forbidden"]["message"] == "Maximum number of metadata items exceeds 2"
    assert replaced.json() == {"metadata": {"x": "1", "y": "2"}}
