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
    spec = await cloud.client.put(f"{url}/types/{gold['id']}/extra_specs/tier", headers=admin,
                                  json={"tier": "1"})
    default = await cloud.client.get(f"{url}/types/default", headers=admin)
    listed = await cloud.client.get(f"{url}/types", headers=admin)

    assert spec.json() == {"tier": "1"}
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
                                      json={"host": "volume-1", "binary": "nimbus-volume"})

    assert zones == {"availabilityZoneInfo": [{"zoneName": "nova",
                                               "zoneState": {"available": True}}]}
    volume_hosts = sorted(s["host"] for s in services if s["binary"] == "nimbus-volume")
    assert volume_hosts == ["volume-1", "volume-2"]
    assert all(s["state"] == "up" for s in services)
    assert disabled.json()["status"] == "disabled"
    # Only volume-2 is left to place volumes on.
    volume = await available_volume(cloud, admin)
    assert volume["os-vol-host-attr:host"] == "volume-2"


async def test_unknown_availability_zone_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.post(f"{await base(cloud, admin)}/volumes", headers=admin,
                                   json={"volume": {"size": 1, "availability_zone": "mars"}})

    assert resp.status_code == 400
    assert "mars" in resp.json()["badRequest"]["message"]
