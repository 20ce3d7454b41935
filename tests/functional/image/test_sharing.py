"""Sharing and visibility: members of shared images, community and public images, services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nimbus.identity.models import ProjectRow, UserRow
from tests.functional.conftest import Cloud
from tests.functional.image.helpers import IMAGES, assert_glance_error, create, ids, show, upload
from tests.functional.image.users import Caller, new_caller


async def share(cloud: Cloud, owner: Caller, image_id: str, member: Caller) -> dict[str, Any]:
    resp = await cloud.client.post(f"{IMAGES}/{image_id}/members", headers=owner.headers,
                                   json={"member": member.project_id})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def set_status(cloud: Cloud, caller: Caller, image_id: str, member_id: str,
                     status: str) -> Any:
    return await cloud.client.put(f"{IMAGES}/{image_id}/members/{member_id}",
                                  headers=caller.headers, json={"status": status})


async def test_share_accept_then_the_member_lists_and_downloads(cloud: Cloud) -> None:
    owner, member = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers, name="shared one")
    await upload(cloud, owner.headers, image["id"], b"shared bytes")

    added = await share(cloud, owner, image["id"], member)
    pending_list = await ids(cloud, member.headers)
    pending_show = await show(cloud, member.headers, image["id"])
    accepted = await set_status(cloud, member, image["id"], member.project_id, "accepted")
    accepted_list = await ids(cloud, member.headers)
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=member.headers)

    assert added["status"] == "pending" and added["image_id"] == image["id"]
    assert added["member_id"] == member.project_id and added["schema"] == "/v2/schemas/member"
    assert image["id"] not in pending_list
    assert pending_show["name"] == "shared one"
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert image["id"] in accepted_list
    assert data.content == b"shared bytes"


async def test_reject_hides_the_image_from_the_default_list(cloud: Cloud) -> None:
    owner, member = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers)
    await share(cloud, owner, image["id"], member)

    await set_status(cloud, member, image["id"], member.project_id, "rejected")

    assert image["id"] not in await ids(cloud, member.headers)
    assert image["id"] in await ids(cloud, member.headers, "?member_status=rejected")
    assert image["id"] in await ids(cloud, member.headers,
                                    "?visibility=shared&member_status=all")


async def test_member_status_filter_with_shared_visibility(cloud: Cloud) -> None:
    owner, member = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers)
    await share(cloud, owner, image["id"], member)

    pending = await ids(cloud, member.headers, "?member_status=pending&visibility=shared")
    accepted = await ids(cloud, member.headers, "?visibility=shared")
    bad = await cloud.client.get(f"{IMAGES}?member_status=maybe", headers=member.headers)

    assert pending == [image["id"]]
    assert accepted == []
    assert_glance_error(bad, 400)


async def test_owner_cannot_accept_and_member_cannot_add_or_remove(cloud: Cloud) -> None:
    owner, member, third = (await new_caller(cloud), await new_caller(cloud),
                            await new_caller(cloud))
    image = await create(cloud, owner.headers)
    await share(cloud, owner, image["id"], member)
    members = f"{IMAGES}/{image['id']}/members"

    owner_accepts = await set_status(cloud, owner, image["id"], member.project_id, "accepted")
    member_adds = await cloud.client.post(members, headers=member.headers,
                                          json={"member": third.project_id})
    member_removes = await cloud.client.delete(f"{members}/{member.project_id}",
                                               headers=member.headers)
    bad_status = await set_status(cloud, member, image["id"], member.project_id, "maybe")

    assert_glance_error(owner_accepts, 403)
    assert_glance_error(member_adds, 403)
    assert_glance_error(member_removes, 403)
    assert_glance_error(bad_status, 400)
    assert image["id"] not in await ids(cloud, member.headers)


async def test_members_list_show_and_remove(cloud: Cloud) -> None:
    owner, first, second = (await new_caller(cloud), await new_caller(cloud),
                            await new_caller(cloud))
    image = await create(cloud, owner.headers)
    await share(cloud, owner, image["id"], first)
    await share(cloud, owner, image["id"], second)
    members = f"{IMAGES}/{image['id']}/members"

    by_owner = (await cloud.client.get(members, headers=owner.headers)).json()
    by_member = (await cloud.client.get(members, headers=first.headers)).json()
    first_sees_second = await cloud.client.get(f"{members}/{second.project_id}",
                                               headers=first.headers)
    shown = await cloud.client.get(f"{members}/{first.project_id}", headers=first.headers)
    removed = await cloud.client.delete(f"{members}/{first.project_id}", headers=owner.headers)
    gone = await cloud.client.get(f"{IMAGES}/{image['id']}", headers=first.headers)

    assert {m["member_id"] for m in by_owner["members"]} == {first.project_id,
                                                              second.project_id}
    assert by_owner["schema"] == "/v2/schemas/members"
    assert [m["member_id"] for m in by_member["members"]] == [first.project_id]
    assert_glance_error(first_sees_second, 404)
    assert shown.status_code == 200 and shown.json()["status"] == "pending"
    assert removed.status_code == 204
    assert_glance_error(gone, 404)


async def test_duplicate_member_is_409_and_member_quota_is_413(cloud: Cloud) -> None:
    owner, member = await new_caller(cloud), await new_caller(cloud)
    cloud.services.image.settings.image.image_member_quota = 1
    image = await create(cloud, owner.headers)
    await share(cloud, owner, image["id"], member)
    members = f"{IMAGES}/{image['id']}/members"

    duplicate = await cloud.client.post(members, headers=owner.headers,
                                        json={"member": member.project_id})
    over = await cloud.client.post(members, headers=owner.headers,
                                   json={"member": "another-project"})

    assert_glance_error(duplicate, 409)
    assert_glance_error(over, 413)


async def test_members_only_for_shared_images(cloud: Cloud) -> None:
    owner = await new_caller(cloud)
    image = await create(cloud, owner.headers, visibility="private")
    members = f"{IMAGES}/{image['id']}/members"

    added = await cloud.client.post(members, headers=owner.headers, json={"member": "p2"})
    listed = await cloud.client.get(members, headers=owner.headers)

    assert_glance_error(added, 403)
    assert_glance_error(listed, 403)


async def test_bad_member_bodies_are_400(cloud: Cloud) -> None:
    owner = await new_caller(cloud)
    image = await create(cloud, owner.headers)
    members = f"{IMAGES}/{image['id']}/members"

    for body in ({}, {"member": ""}, {"member": 5}, [], {"member": "x" * 256}):
        resp = await cloud.client.post(members, headers=owner.headers, json=body)
        assert_glance_error(resp, 400)
    missing = await cloud.client.put(f"{members}/nobody", headers=owner.headers,
                                     json={"status": "accepted"})
    assert_glance_error(missing, 404)


async def test_community_image_is_readable_but_listed_only_on_request(cloud: Cloud) -> None:
    owner, other = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers, visibility="community")

    default = await ids(cloud, other.headers)
    community = await ids(cloud, other.headers, "?visibility=community")
    owner_default = await ids(cloud, owner.headers)

    assert image["id"] not in default
    assert image["id"] in community
    assert image["id"] in owner_default
    assert (await show(cloud, other.headers, image["id"]))["visibility"] == "community"


async def test_public_images_appear_in_everyones_list(cloud: Cloud) -> None:
    other = await new_caller(cloud)
    image = await create(cloud, await cloud.admin_headers(), visibility="public")

    assert image["id"] in await ids(cloud, other.headers)
    assert image["id"] in await ids(cloud, other.headers, "?visibility=public")
    assert image["id"] not in await ids(cloud, other.headers, "?visibility=private")


async def test_private_images_stay_private_in_lists(cloud: Cloud) -> None:
    owner, other = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers, visibility="private")

    assert image["id"] in await ids(cloud, owner.headers)
    assert image["id"] not in await ids(cloud, other.headers)
    assert image["id"] not in await ids(cloud, other.headers, "?visibility=all")
    assert image["id"] in await ids(cloud, await cloud.admin_headers(), "?visibility=private")


async def test_service_token_reads_and_downloads_any_image(cloud: Cloud) -> None:
    """The compute agents fetch images with the service user's token."""
    owner = await new_caller(cloud)
    image = await create(cloud, owner.headers, visibility="private")
    await upload(cloud, owner.headers, image["id"], b"boot me")
    async with cloud.identity.read() as session:
        user = (await session.execute(select(UserRow).where(
            UserRow.name == "nimbus-service"))).scalar_one()
        project = await session.get(ProjectRow, user.default_project_id)
    assert project is not None
    token = await cloud.token("nimbus-service", "service-pw", project=project.name)
    service = {"X-Auth-Token": token}

    shown = await show(cloud, service, image["id"])
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=service)

    assert shown["owner"] == owner.project_id
    assert data.content == b"boot me"
    assert data.headers["Content-MD5"] == shown["checksum"]
