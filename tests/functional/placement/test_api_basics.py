"""Version discovery, microversion negotiation, auth, policy and the error shape."""

from __future__ import annotations

from tests.functional.conftest import Cloud
from tests.functional.placement.helpers import Placement, error


async def test_root_is_public_and_lists_the_range(placement: Placement) -> None:
    resp = await placement.client.get("/placement/")
    assert resp.status_code == 200
    version = resp.json()["versions"][0]
    assert version == {"id": "v1.0", "min_version": "1.0", "max_version": "1.39",
                       "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}
    assert resp.headers["openstack-api-version"] == "placement 1.0"
    assert "openstack-api-version" in resp.headers["vary"].lower()


async def test_version_is_echoed_and_latest_means_max(placement: Placement) -> None:
    resp = await placement.get("/resource_providers", version="placement latest")
    assert resp.headers["openstack-api-version"] == "placement 1.39"
    resp = await placement.get("/resource_providers", version="placement 1.14")
    assert resp.headers["openstack-api-version"] == "placement 1.14"
    assert "cache-control" not in resp.headers
    resp = await placement.get("/resource_providers", version="placement 1.15")
    assert resp.headers["cache-control"] == "no-cache" and resp.headers["last-modified"]


async def test_unsupported_version_is_406_with_the_range(placement: Placement) -> None:
    resp = await placement.client.get("/placement/", headers={"OpenStack-API-Version": "placement 1.99"})
    assert resp.status_code == 406
    err = error(resp)
    assert err["max_version"] == "1.39" and err["min_version"] == "1.0"
    assert err["request_id"].startswith("req-")
    resp = await placement.get("/resource_providers", version="placement one")
    assert resp.status_code == 400


async def test_errors_carry_a_code_from_1_23(placement: Placement) -> None:
    missing = "/resource_providers/5c2c0bd5-26b3-4bd5-9d9e-cb5b5b95e0c1"
    err = error(await placement.get(missing, version="placement 1.23"))
    assert err["status"] == 404 and err["title"] == "Not Found"
    assert err["code"] == "placement.undefined_code" and err["request_id"].startswith("req-")
    assert "code" not in error(await placement.get(missing, version="placement 1.22"))


async def test_token_is_required_and_members_are_forbidden(cloud: Cloud, placement: Placement) -> None:
    assert (await cloud.client.get("/placement/resource_providers")).status_code == 401
    demo = await _member_token(cloud)
    resp = await cloud.client.get("/placement/resource_providers", headers={"X-Auth-Token": demo})
    assert resp.status_code == 403
    assert error(resp)["title"] == "Forbidden"


async def test_routes_appear_at_their_microversion(placement: Placement) -> None:
    assert (await placement.get("/traits", version="placement 1.5")).status_code == 404
    assert (await placement.get("/traits", version="placement 1.6")).status_code == 200
    assert (await placement.get("/resource_classes", version="placement 1.1")).status_code == 404
    assert (await placement.get("/usages?project_id=x", version="placement 1.8")).status_code == 404
    assert (await placement.post("/allocations", {}, version="placement 1.12")).status_code == 404
    rp = await placement.provider()
    assert (await placement.delete(f"/resource_providers/{rp}/inventories",
                                   version="placement 1.4")).status_code == 405


async def test_bodies_must_be_json(placement: Placement) -> None:
    resp = await placement.client.post("/placement/resource_providers", content=b"name=x",
                                       headers={**placement.headers(), "Content-Type": "text/plain"})
    assert resp.status_code == 415
    resp = await placement.client.post("/placement/resource_providers", content=b"{nope",
                                       headers={**placement.headers(),
                                                "Content-Type": "application/json"})
    assert resp.status_code == 400 and "Malformed JSON" in error(resp)["detail"]


async def _member_token(cloud: Cloud) -> str:
    """A plain member of the admin project: exists after bootstrap? Create one if needed."""
    admin = await cloud.admin_headers()
    projects = (await cloud.client.get("/identity/v3/projects?name=admin", headers=admin)).json()
    project_id = projects["projects"][0]["id"]
    user = await cloud.client.post("/identity/v3/users", headers=admin, json={"user": {
        "name": "placement-member", "password": "member-pw-123", "default_project_id": project_id}})
    assert user.status_code == 201, user.text
    roles = (await cloud.client.get("/identity/v3/roles?name=member", headers=admin)).json()
    role_id = roles["roles"][0]["id"]
    grant = await cloud.client.put(
        f"/identity/v3/projects/{project_id}/users/{user.json()['user']['id']}/roles/{role_id}",
        headers=admin)
    assert grant.status_code == 204, grant.text
    return await cloud.token("placement-member", "member-pw-123")
