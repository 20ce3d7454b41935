"""Volume types and extra specs, quotas and limits, zones and services."""

from __future__ import annotations

from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import available_volume, base, create_volume, wait_for


async def test_type_with_extra_specs_and_a_default(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = await base(cloud, admin)

    created = await cloud.client.post(f"{url}/types", headers=admin, json={"volume_type": {
        "name": "gold", "extra_specs": {"volume_backend_name": "file"}}})
    assert created.status_code == 200, created.text
    gold = created.json()["volume_type"]
    # A scoped spec is for drivers: the scheduler does not match it against capabilities.
    spec = await cloud.client.put(f"{url}/types/{gold['id']}/extra_specs/RESKEY:tier",
                                  headers=admin, json={"RESKEY:tier": "1"})
    default = await cloud.client.get(f"{url}/types/default", headers=admin)
    listed = await cloud.client.get(f"{url}/types", headers=admin)

    assert spec.json() == {"RESKEY:tier": "1"}
    assert default.json()["volume_type"]["name"] == "__DEFAULT__"
    assert {t["name"] for t in listed.json()["volume_types"]} == {"__DEFAULT__", "gold"}
    volume = await available_volume(cloud, admin, volume_type="gold")
    assert volume["volume_type"] == "gold"
    in_use = await cloud.client.delete(f"{url}/types/{gold['id']}", headers=admin)
    assert in_use.status_code == 400


async def test_type_no_backend_offers_ends_in_error(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = await base(cloud, admin)
    await cloud.client.post(f"{url}/types", headers=admin, json={"volume_type": {
        "name": "lvm-only", "extra_specs": {"volume_backend_name": "lvm"}}})

    created = await create_volume(cloud, admin, volume_type="lvm-only")
    volume = await wait_for(cloud, admin, created["id"], "error", "available")

    assert volume is not None and volume["status"] == "error"


async def test_members_cannot_manage_types(cloud: Cloud) -> None:
    member = {"X-Auth-Token": await member_token(cloud)}
    resp = await cloud.client.post(f"{await base(cloud, member)}/types", headers=member,
                                   json={"volume_type": {"name": "mine"}})

    assert resp.status_code == 403
    assert resp.json()["forbidden"]["code"] == 403


async def test_gigabytes_quota_is_over_limit_and_limits_show_usage(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    member = {"X-Auth-Token": await member_token(cloud)}
    url = await base(cloud, member)
    project = url.rsplit("/", 1)[-1]
    set_quota = await cloud.client.put(f"{await base(cloud, admin)}/os-quota-sets/{project}",
                                       headers=admin, json={"quota_set": {"gigabytes": 3}})
    assert set_quota.status_code == 200 and set_quota.json()["quota_set"]["gigabytes"] == 3
    await available_volume(cloud, member, size=2)

    over = await cloud.client.post(f"{url}/volumes", headers=member,
                                   json={"volume": {"size": 2}})
    limits = (await cloud.client.get(f"{url}/limits", headers=member)).json()["limits"]
    usage = (await cloud.client.get(f"{url}/os-quota-sets/{project}?usage=true",
                                    headers=member)).json()["quota_set"]

    assert over.status_code == 413
    assert over.json()["overLimit"]["message"].startswith(
        "Requested volume or snapshot exceeds allowed gigabytes quota.")
    assert limits["absolute"]["maxTotalVolumeGigabytes"] == 3
    assert limits["absolute"]["totalGigabytesUsed"] == 2
    assert usage["gigabytes"] == {"limit": 3, "in_use": 2, "reserved": 0}


async def test_zones_and_services_show_the_volume_hosts(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = await base(cloud, admin)

    zones = (await cloud.client.get(f"{url}/os-availability-zone", headers=admin)).json()
    services = (await cloud.client.get(f"{url}/os-services", headers=admin)).json()["services"]
    disabled = await cloud.client.put(f"{url}/os-services/disable", headers=admin,
                                      json={"host": "volume-1@file", "binary": "cinder-volume"})

    assert zones == {"availabilityZoneInfo": [{"zoneName": "nova",
                                               "zoneState": {"available": True}}]}
    volume_hosts = sorted(s["host"] for s in services if s["binary"] == "cinder-volume")
    assert volume_hosts == ["volume-1@file", "volume-2@file"]
    assert all(s["state"] == "up" for s in services)
    assert disabled.json()["status"] == "disabled"
    # Only volume-2 is left to place volumes on.
    volume = await available_volume(cloud, admin)
    assert volume["os-vol-host-attr:host"] == "volume-2@file#file"


async def test_unknown_availability_zone_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(f"{await base(cloud, admin)}/volumes", headers=admin,
                                   json={"volume": {"size": 1, "availability_zone": "mars"}})

    assert resp.status_code == 400
    assert "mars" in resp.json()["badRequest"]["message"]


async def test_no_valid_backend_leaves_a_user_message(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = await base(cloud, admin)
    await cloud.client.post(f"{url}/types", headers=admin, json={"volume_type": {
        "name": "nowhere", "extra_specs": {"vendor_name": "Acme"}}})
    created = await create_volume(cloud, admin, volume_type="nowhere")
    await wait_for(cloud, admin, created["id"], "error")

    listed = await cloud.client.get(f"{url}/messages",
                                    headers={**admin, "OpenStack-API-Version": "volume 3.3"})
    old = await cloud.client.get(f"{url}/messages", headers=admin)

    message = next(m for m in listed.json()["messages"] if m["resource_uuid"] == created["id"])
    assert message["event_id"] == "VOLUME_VOLUME_001_002"
    assert message["user_message"] == ("schedule allocate volume:Could not find any available "
                                       "weighted backend.")
    assert old.status_code == 404
    deleted = await cloud.client.delete(f"{url}/messages/{message['id']}",
                                        headers={**admin, "OpenStack-API-Version": "volume 3.3"})
    assert deleted.status_code == 204


async def test_retype_on_the_same_backend_changes_the_type(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    url = await base(cloud, admin)
    await cloud.client.post(f"{url}/types", headers=admin, json={"volume_type": {
        "name": "silver", "extra_specs": {"volume_backend_name": "file"}}})
    await cloud.client.post(f"{url}/types", headers=admin, json={"volume_type": {
        "name": "elsewhere", "extra_specs": {"volume_backend_name": "lvm"}}})
    volume = await available_volume(cloud, admin)

    done = await cloud.client.post(f"{url}/volumes/{volume['id']}/action", headers=admin,
                                   json={"os-retype": {"new_type": "silver"}})
    refused = await cloud.client.post(f"{url}/volumes/{volume['id']}/action", headers=admin,
                                      json={"os-retype": {"new_type": "elsewhere",
                                                          "migration_policy": "on-demand"}})

    assert done.status_code == 202 and refused.status_code == 400
    shown = (await cloud.client.get(f"{url}/volumes/{volume['id']}", headers=admin)).json()
    assert shown["volume"]["volume_type"] == "silver"
