"""A server's metadata, tags (2.26+) and addresses through /compute/v2.1/servers/{id}/..."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from nimbus.compute.models import InstanceRow
from nimbus.compute.virt.fake import FakeDriver
from tests.dbs import backends
from tests.functional.compute.helpers import V, boot, upload_image, wait_for
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud, running_cloud


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1) as running:
        yield running


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def active_server(cloud: Cloud, headers: dict[str, str], **extra: Any) -> str:
    """A server of the caller's, booted from a public image the admin uploaded."""
    image = await upload_image(cloud, await cloud.admin_headers())
    server_id = await boot(cloud, headers, image, **extra)
    server = await wait_for(cloud, headers, server_id, "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE"
    return server_id


async def error_server(cloud: Cloud, headers: dict[str, str]) -> str:
    assert cloud.compute is not None
    for agent, _ in cloud.compute.agents.values():
        assert isinstance(agent.driver, FakeDriver)
        for _ in range(3):
            agent.driver.fail_next("spawn", RuntimeError("no"))
    server_id = await boot(cloud, headers, await upload_image(cloud, headers))
    assert await wait_for(cloud, headers, server_id, "ERROR")
    return server_id


# -- metadata --------------------------------------------------------------------------------


async def test_metadata_list_merge_replace_and_items(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin, metadata={"a": "1", "b": "2"})
    url = f"{V}/servers/{server_id}/metadata"

    listed = await cloud.client.get(url, headers=admin)
    merged = await cloud.client.post(url, headers=admin, json={"metadata": {"b": "B", "c": "3"}})
    item = await cloud.client.get(f"{url}/c", headers=admin)
    set_one = await cloud.client.put(f"{url}/d", headers=admin, json={"meta": {"d": "4"}})
    replaced = await cloud.client.put(url, headers=admin, json={"metadata": {"x": "", "d": "4"}})
    deleted = await cloud.client.delete(f"{url}/x", headers=admin)
    final = await cloud.client.get(url, headers=admin)
    shown = await cloud.client.get(f"{V}/servers/{server_id}", headers=admin)

    assert listed.json() == {"metadata": {"a": "1", "b": "2"}}
    assert merged.status_code == 200
    assert merged.json() == {"metadata": {"a": "1", "b": "B", "c": "3"}}
    assert item.json() == {"meta": {"c": "3"}}
    assert set_one.status_code == 200 and set_one.json() == {"meta": {"d": "4"}}
    assert replaced.json() == {"metadata": {"x": "", "d": "4"}}
    assert deleted.status_code == 204
    assert final.json() == {"metadata": {"d": "4"}}
    assert shown.json()["server"]["metadata"] == {"d": "4"}


async def test_metadata_bad_input(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}/metadata"

    bad = {
        "mismatch": await cloud.client.put(f"{url}/a", headers=admin, json={"meta": {"b": "1"}}),
        "two items": await cloud.client.put(f"{url}/a", headers=admin,
                                            json={"meta": {"a": "1", "b": "2"}}),
        "no items": await cloud.client.put(f"{url}/a", headers=admin, json={"meta": {}}),
        "number value": await cloud.client.post(url, headers=admin, json={"metadata": {"a": 1}}),
        "long value": await cloud.client.post(url, headers=admin,
                                              json={"metadata": {"a": "v" * 256}}),
        "bad key": await cloud.client.post(url, headers=admin, json={"metadata": {"a/b": "1"}}),
        "empty key": await cloud.client.post(url, headers=admin, json={"metadata": {"": "1"}}),
        "not a dict": await cloud.client.post(url, headers=admin, json={"metadata": ["a"]}),
        "wrong key": await cloud.client.post(url, headers=admin, json={"meta": {"a": "1"}}),
    }
    missing_item = await cloud.client.get(f"{url}/nope", headers=admin)
    delete_missing = await cloud.client.delete(f"{url}/nope", headers=admin)
    unknown_server = await cloud.client.get(f"{V}/servers/{'1' * 8}-1111-4111-8111-{'1' * 12}"
                                            "/metadata", headers=admin)

    assert {k: r.status_code for k, r in bad.items()} == dict.fromkeys(bad, 400)
    assert bad["mismatch"].json()["badRequest"]["message"] == "Request body and URI mismatch"
    assert missing_item.json() == {"itemNotFound": {"code": 404,
                                                    "message": "Metadata item was not found"}}
    assert delete_missing.status_code == 404
    assert unknown_server.status_code == 404
    assert (await cloud.client.get(url, headers=admin)).json() == {"metadata": {}}


async def test_metadata_changes_need_a_resting_unlocked_server(cloud: Cloud) -> None:
    token = await member_token(cloud)
    member = {"X-Auth-Token": token}
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, member, metadata={"k": "v"})
    url = f"{V}/servers/{server_id}/metadata"
    await cloud.client.post(f"{V}/servers/{server_id}/action", headers=member, json={"lock": None})

    locked = await cloud.client.post(url, headers=member, json={"metadata": {"a": "1"}})
    locked_delete = await cloud.client.delete(f"{url}/k", headers=member)
    by_admin = await cloud.client.post(url, headers=admin, json={"metadata": {"a": "1"}})
    await cloud.client.post(f"{V}/servers/{server_id}/action", headers=member, json={"unlock": None})
    async with cloud.services.compute.write() as session:
        await session.execute(update(InstanceRow).where(InstanceRow.uuid == server_id).values(
            task_state="rebooting"))
    busy = await cloud.client.put(f"{url}/k", headers=member, json={"meta": {"k": "w"}})
    readable = await cloud.client.get(url, headers=member)

    assert locked.status_code == locked_delete.status_code == 409
    assert locked.json()["conflictingRequest"]["message"] == f"Instance {server_id} is locked"
    assert by_admin.status_code == 200
    assert busy.status_code == 409
    assert busy.json()["conflictingRequest"]["message"] == (
        f"Cannot 'update metadata' instance {server_id} while it is in task_state rebooting")
    assert readable.json() == {"metadata": {"k": "v", "a": "1"}}


async def test_metadata_of_a_failed_server_is_read_only(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await error_server(cloud, admin)

    refused = await cloud.client.post(f"{V}/servers/{server_id}/metadata", headers=admin,
                                      json={"metadata": {"a": "1"}})

    assert refused.status_code == 409
    assert refused.json()["conflictingRequest"]["message"] == (
        f"Cannot 'update metadata' instance {server_id} while it is in vm_state error")


async def test_other_projects_servers_are_not_found(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)
    member = {"X-Auth-Token": await member_token(cloud), **mv("2.26")}

    for path in ("metadata", "metadata/a", "tags", "ips"):
        resp = await cloud.client.get(f"{V}/servers/{server_id}/{path}", headers=member)
        assert resp.status_code == 404, path
        assert resp.json()["itemNotFound"]["message"] == f"Instance {server_id} could not be found."


async def test_readers_cannot_change_metadata(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    token = await member_token(cloud)
    server_id = await active_server(cloud, {"X-Auth-Token": token})
    # The same project, with only the reader role.
    projects = (await cloud.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})).json()["token"]["project"]
    reader_role = (await cloud.client.get("/identity/v3/roles?name=reader",
                                          headers=admin)).json()["roles"][0]["id"]
    user = (await cloud.client.post("/identity/v3/users", headers=admin, json={"user": {
        "name": "reader-1", "password": "reader-pw", "domain_id": "default"}})).json()["user"]
    await cloud.client.put(f"/identity/v3/projects/{projects['id']}/users/{user['id']}/roles/"
                           f"{reader_role}", headers=admin)
    reader = {"X-Auth-Token": await cloud.token("reader-1", "reader-pw", projects["name"])}

    read = await cloud.client.get(f"{V}/servers/{server_id}/metadata", headers=reader)
    write = await cloud.client.post(f"{V}/servers/{server_id}/metadata", headers=reader,
                                    json={"metadata": {"a": "1"}})

    assert read.status_code == 200
    assert write.status_code == 403


# -- tags ------------------------------------------------------------------------------------


async def test_tags_list_replace_add_check_delete(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.26")}
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}/tags"

    empty = await cloud.client.get(url, headers=admin)
    replaced = await cloud.client.put(url, headers=admin, json={"tags": ["b", "a", "b"]})
    added = await cloud.client.put(f"{url}/c", headers=admin)
    again = await cloud.client.put(f"{url}/c", headers=admin)
    present = await cloud.client.get(f"{url}/a", headers=admin)
    absent = await cloud.client.get(f"{url}/z", headers=admin)
    removed = await cloud.client.delete(f"{url}/a", headers=admin)
    remove_missing = await cloud.client.delete(f"{url}/a", headers=admin)
    listed = await cloud.client.get(url, headers=admin)
    shown = await cloud.client.get(f"{V}/servers/{server_id}", headers=admin)
    cleared = await cloud.client.delete(url, headers=admin)

    assert empty.json() == {"tags": []}
    assert replaced.status_code == 200 and sorted(replaced.json()["tags"]) == ["a", "b"]
    assert added.status_code == 201
    assert added.headers["Location"].endswith(f"/servers/{server_id}/tags/c")
    assert again.status_code == 204
    assert present.status_code == 204 and present.content == b""
    assert absent.status_code == 404
    assert absent.json()["itemNotFound"]["message"] == f"Server {server_id} has no tag 'z'"
    assert removed.status_code == 204
    assert remove_missing.json()["itemNotFound"]["message"] == (
        f"Instance {server_id} has no tag 'a'")
    assert sorted(listed.json()["tags"]) == ["b", "c"]
    assert sorted(shown.json()["server"]["tags"]) == ["b", "c"]
    assert cleared.status_code == 204
    assert (await cloud.client.get(url, headers=admin)).json() == {"tags": []}


async def test_tags_need_2_26(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)

    for method in ("GET", "PUT", "DELETE"):
        resp = await cloud.client.request(method, f"{V}/servers/{server_id}/tags/a",
                                          headers={**admin, **mv("2.25")})
        assert resp.status_code == 404, method
    listed = await cloud.client.get(f"{V}/servers/{server_id}/tags", headers={**admin, **mv("2.25")})
    assert listed.status_code == 404


async def test_bad_tags_are_refused(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.26")}
    server_id = await active_server(cloud, admin)
    url = f"{V}/servers/{server_id}/tags"

    comma = await cloud.client.put(f"{url}/a,b", headers=admin)
    long = await cloud.client.put(f"{url}/{'t' * 61}", headers=admin)
    with_body = await cloud.client.put(f"{url}/a", headers=admin, json={"tag": "a"})
    too_many = await cloud.client.put(url, headers=admin, json={"tags": [f"t{i}" for i in range(51)]})
    bad_in_list = await cloud.client.put(url, headers=admin, json={"tags": ["ok", "a/b"]})
    not_list = await cloud.client.put(url, headers=admin, json={"tags": "a"})
    fifty = await cloud.client.put(url, headers=admin, json={"tags": [f"t{i}" for i in range(50)]})
    fifty_first = await cloud.client.put(f"{url}/extra", headers=admin)

    for resp in (comma, long, with_body, too_many, bad_in_list, not_list, fifty_first):
        assert resp.status_code == 400, resp.text
    assert comma.json()["badRequest"]["message"].startswith("Tag 'a,b' is invalid.")
    assert fifty.status_code == 200
    assert fifty_first.json()["badRequest"]["message"] == (
        "The number of tags exceeded the per-server limit 50")


async def test_tag_changes_need_a_resting_server(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.26")}
    server_id = await error_server(cloud, admin)
    url = f"{V}/servers/{server_id}/tags"

    replace = await cloud.client.put(url, headers=admin, json={"tags": ["a"]})
    add = await cloud.client.put(f"{url}/a", headers=admin)
    delete_all = await cloud.client.delete(url, headers=admin)
    delete_one = await cloud.client.delete(f"{url}/a", headers=admin)
    read = await cloud.client.get(url, headers=admin)

    assert replace.json()["conflictingRequest"]["message"] == (
        f"Cannot 'update tags' instance {server_id} while it is in vm_state error")
    assert add.json()["conflictingRequest"]["message"].startswith("Cannot 'update tag'")
    assert delete_all.json()["conflictingRequest"]["message"].startswith("Cannot 'delete tags'")
    assert delete_one.json()["conflictingRequest"]["message"].startswith("Cannot 'delete tag'")
    assert read.json() == {"tags": []}


# -- addresses -------------------------------------------------------------------------------


async def test_addresses_are_empty_without_networks(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server_id = await active_server(cloud, admin)

    listed = await cloud.client.get(f"{V}/servers/{server_id}/ips", headers=admin)
    network = await cloud.client.get(f"{V}/servers/{server_id}/ips/private", headers=admin)

    assert listed.json() == {"addresses": {}}
    assert network.status_code == 404
    assert network.json()["itemNotFound"]["message"] == (
        "Instance is not a member of specified network")
