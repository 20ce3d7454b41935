"""Image records: create, show, JSON-patch update, delete, actions, tags, schemas, versions."""

from __future__ import annotations

import uuid

import pytest

from tests.functional.conftest import Cloud
from tests.functional.image.helpers import (
    IMAGES,
    PATCH_TYPE,
    assert_glance_error,
    create,
    patch,
    show,
    upload,
)
from tests.functional.image.users import new_caller

BASE_KEYS = {"id", "name", "status", "visibility", "protected", "os_hidden", "owner",
             "disk_format", "container_format", "size", "virtual_size", "checksum",
             "os_hash_algo", "os_hash_value", "min_disk", "min_ram", "created_at", "updated_at",
             "tags", "self", "file", "schema"}


async def test_versions_are_public_and_list_v2(cloud: Cloud) -> None:
    root = await cloud.client.get("/image/")
    listed = await cloud.client.get("/image/versions")

    assert root.status_code == 300
    assert listed.status_code == 200
    versions = listed.json()["versions"]
    assert root.json() == listed.json()
    assert [v["id"] for v in versions if v["status"] == "CURRENT"] == ["v2.15"]
    assert {"v2.0", "v2.1", "v2.12"} <= {v["id"] for v in versions}
    assert all(v["links"] == [{"rel": "self", "href": "http://nimbus.test/image/v2/"}]
               for v in versions)


async def test_requests_without_a_token_are_401_in_glance_shape(cloud: Cloud) -> None:
    resp = await cloud.client.get(IMAGES)

    assert_glance_error(resp, 401)


async def test_create_returns_queued_image_with_every_base_attribute(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    resp = await cloud.client.post(IMAGES, headers=headers, json={
        "name": "cirros", "disk_format": "qcow2", "container_format": "bare", "min_ram": 64,
        "min_disk": 1, "tags": ["a", "b", "a"], "hw_disk_bus": "scsi",
        "kernel_id": "00000000-1111-2222-3333-444455556666"})

    assert resp.status_code == 201, resp.text
    image = resp.json()
    assert BASE_KEYS <= image.keys()
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["size"] is None and image["checksum"] is None
    assert sorted(image["tags"]) == ["a", "b"]
    assert image["hw_disk_bus"] == "scsi"
    assert image["kernel_id"] == "00000000-1111-2222-3333-444455556666"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["created_at"].endswith("Z")
    assert resp.headers["Location"] == f"http://nimbus.test/image/v2/images/{image['id']}"
    assert resp.headers["OpenStack-image-import-methods"] == "glance-direct"
    assert resp.headers["OpenStack-image-store-ids"] == "file"
    assert await show(cloud, headers, image["id"]) == image


async def test_create_with_own_id_then_the_same_id_is_409(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image_id = str(uuid.uuid4())
    image = await create(cloud, headers, id=image_id)

    again = await cloud.client.post(IMAGES, headers=headers, json={"id": image_id})

    assert image["id"] == image_id
    assert_glance_error(again, 409)


@pytest.mark.parametrize("body", [
    {"disk_format": "wrong"},
    {"container_format": "wrong", "disk_format": "vhd"},
    {"visibility": "everyone"},
    {"min_ram": -1},
    {"min_ram": "64"},
    {"protected": "yes"},
    {"name": "x" * 256},
    {"tags": ["x" * 256]},
    {"tags": "not-a-list"},
    {"kernel_id": "not-a-uuid"},
    {"id": "not-a-uuid"},
    {"custom": 5},
    {"x" * 256: "long key"},
    [],
])
async def test_create_with_invalid_body_is_400(cloud: Cloud, body: object) -> None:
    resp = await cloud.client.post(IMAGES, headers=await cloud.admin_headers(), json=body)

    assert_glance_error(resp, 400)


async def test_create_with_malformed_json_is_400(cloud: Cloud) -> None:
    resp = await cloud.client.post(IMAGES, content=b'{"name": ', headers={
        **await cloud.admin_headers(), "Content-Type": "application/json"})

    assert_glance_error(resp, 400)


async def test_oversize_metadata_body_is_413(cloud: Cloud) -> None:
    resp = await cloud.client.post(IMAGES, headers=await cloud.admin_headers(),
                                   json={"description": "x" * (2 << 20)})

    assert_glance_error(resp, 413)


@pytest.mark.parametrize("key, status", [
    ("status", 403), ("checksum", 403), ("size", 403), ("self", 403), ("stores", 403),
    ("os_glance_foo", 403), ("location", 403), ("deleted", 403),
])
async def test_create_with_read_only_or_reserved_attribute_is_403(cloud: Cloud, key: str,
                                                                  status: int) -> None:
    resp = await cloud.client.post(IMAGES, headers=await cloud.admin_headers(),
                                   json={"name": "x", key: "value"})

    assert_glance_error(resp, status)


async def test_member_creates_in_own_project_but_not_for_another_owner(cloud: Cloud) -> None:
    caller = await new_caller(cloud)

    own = await create(cloud, caller.headers, name="mine")
    other = await cloud.client.post(IMAGES, headers=caller.headers,
                                    json={"name": "theirs", "owner": uuid.uuid4().hex})

    assert own["owner"] == caller.project_id
    assert_glance_error(other, 403)


async def test_reader_cannot_create(cloud: Cloud) -> None:
    reader = await new_caller(cloud, role="reader")

    resp = await cloud.client.post(IMAGES, headers=reader.headers, json={"name": "x"})

    assert_glance_error(resp, 403)


async def test_only_admin_publicizes_but_owner_may_communitize(cloud: Cloud) -> None:
    caller = await new_caller(cloud)

    public = await cloud.client.post(IMAGES, headers=caller.headers,
                                     json={"visibility": "public"})
    community = await cloud.client.post(IMAGES, headers=caller.headers,
                                        json={"visibility": "community"})
    by_admin = await create(cloud, await cloud.admin_headers(), visibility="public")

    assert_glance_error(public, 403)
    assert community.status_code == 201 and community.json()["visibility"] == "community"
    assert by_admin["visibility"] == "public"


async def test_show_unknown_or_empty_id_is_404(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()

    unknown = await cloud.client.get(f"{IMAGES}/{uuid.uuid4()}", headers=headers)
    empty = await cloud.client.get(f"{IMAGES}/", headers=headers)
    delete_empty = await cloud.client.delete(f"{IMAGES}/", headers=headers)

    assert_glance_error(unknown, 404)
    assert empty.status_code == 404 and delete_empty.status_code == 404


async def test_another_projects_private_image_is_404_everywhere(cloud: Cloud) -> None:
    owner, stranger = await new_caller(cloud), await new_caller(cloud)
    image = await create(cloud, owner.headers, visibility="private")
    await upload(cloud, owner.headers, image["id"], b"secret")
    path = f"{IMAGES}/{image['id']}"

    responses = [
        await cloud.client.get(path, headers=stranger.headers),
        await cloud.client.get(f"{path}/file", headers=stranger.headers),
        await patch(cloud, stranger.headers, image["id"],
                    [{"op": "replace", "path": "/name", "value": "x"}]),
        await cloud.client.delete(path, headers=stranger.headers),
        await cloud.client.put(f"{path}/tags/t", headers=stranger.headers),
        await cloud.client.get(f"{path}/members", headers=stranger.headers),
    ]

    for resp in responses:
        assert_glance_error(resp, 404)
    assert (await show(cloud, owner.headers, image["id"]))["name"] is None


async def test_public_image_of_another_project_is_readable_not_writable(cloud: Cloud) -> None:
    admin, caller = await cloud.admin_headers(), await new_caller(cloud)
    image = await create(cloud, admin, visibility="public", name="golden")
    await upload(cloud, admin, image["id"], b"golden bytes")

    shown = await show(cloud, caller.headers, image["id"])
    data = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=caller.headers)
    renamed = await patch(cloud, caller.headers, image["id"],
                          [{"op": "replace", "path": "/name", "value": "mine"}])
    deleted = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=caller.headers)

    assert shown["name"] == "golden"
    assert data.content == b"golden bytes"
    assert_glance_error(renamed, 403)
    assert_glance_error(deleted, 403)


async def test_patch_add_replace_remove_base_and_extra_properties(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, name="before", os_distro="cirros")

    resp = await patch(cloud, headers, image["id"], [
        {"op": "replace", "path": "/name", "value": "after"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/min_ram", "value": 512},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "add", "path": "/k~1v", "value": "slash"},
        {"op": "add", "path": "/protected", "value": True},
        {"op": "replace", "path": "/protected", "value": False},
    ])
    removed = await patch(cloud, headers, image["id"],
                          [{"op": "remove", "path": "/hw_disk_bus"}])

    assert resp.status_code == 200, resp.text
    updated = resp.json()
    assert (updated["name"], updated["hw_disk_bus"], updated["os_distro"]) == \
        ("after", "virtio", "ubuntu")
    assert updated["min_ram"] == 512 and sorted(updated["tags"]) == ["x", "y"]
    assert updated["k/v"] == "slash" and updated["protected"] is False
    assert removed.status_code == 200 and "hw_disk_bus" not in removed.json()
    assert (await show(cloud, headers, image["id"]))["name"] == "after"


async def test_patch_with_the_draft4_media_type(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, name="old", color="red")
    draft4 = "application/openstack-images-v2.0-json-patch"

    ok = await patch(cloud, headers, image["id"], [{"replace": "/name", "value": "new"}],
                     content_type=draft4)
    conflict = await patch(cloud, headers, image["id"], [{"add": "/color", "value": "blue"}],
                           content_type=draft4)

    assert ok.status_code == 200 and ok.json()["name"] == "new"
    assert_glance_error(conflict, 409)


@pytest.mark.parametrize("ops, status", [
    ({"op": "replace", "path": "/name", "value": "x"}, 400),
    ([{"op": "move", "path": "/name", "value": "x"}], 400),
    ([{"op": "test", "path": "/name", "value": "x"}], 400),
    ([{"path": "/name", "value": "x"}], 400),
    ([{"op": "replace", "value": "x"}], 400),
    ([{"op": "replace", "path": "name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/name/first", "value": "x"}], 400),
    ([{"op": "add", "path": "/tags/-", "value": "x"}], 400),
    ([{"op": "replace", "path": "//name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/name~2", "value": "x"}], 400),
    ([{"op": "replace", "path": "/name"}], 400),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
    ([{"op": "replace", "path": "/visibility", "value": "galactic"}], 400),
    ([{"op": "add", "path": "/custom", "value": 1}], 400),
    (["not an object"], 400),
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
    ([{"op": "replace", "path": "/checksum", "value": "0" * 32}], 403),
    ([{"op": "add", "path": "/os_glance_import_task", "value": "x"}], 403),
    ([{"op": "add", "path": "/locations/-", "value": {"url": "http://x", "metadata": {}}}], 403),
    ([{"op": "replace", "path": "/locations", "value": []}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "remove", "path": "/no_such_property"}], 409),
    ([{"op": "replace", "path": "/no_such_property", "value": "x"}], 409),
])
async def test_bad_patches_fail_without_changing_the_image(cloud: Cloud, ops: object,
                                                          status: int) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, name="unchanged")

    resp = await patch(cloud, headers, image["id"], ops)

    assert_glance_error(resp, status)
    assert await show(cloud, headers, image["id"]) == image


async def test_patch_is_all_or_nothing(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, name="first")

    resp = await patch(cloud, headers, image["id"], [
        {"op": "replace", "path": "/name", "value": "second"},
        {"op": "remove", "path": "/missing"}])

    assert_glance_error(resp, 409)
    assert (await show(cloud, headers, image["id"]))["name"] == "first"


async def test_patch_needs_the_json_patch_media_type(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)

    resp = await patch(cloud, headers, image["id"],
                       [{"op": "replace", "path": "/name", "value": "x"}],
                       content_type="application/json")

    assert_glance_error(resp, 415)


async def test_non_admin_cannot_change_owner_or_publicize(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    image = await create(cloud, caller.headers)

    owner = await patch(cloud, caller.headers, image["id"],
                        [{"op": "replace", "path": "/owner", "value": uuid.uuid4().hex}])
    public = await patch(cloud, caller.headers, image["id"],
                         [{"op": "replace", "path": "/visibility", "value": "public"}])
    private = await patch(cloud, caller.headers, image["id"],
                          [{"op": "replace", "path": "/visibility", "value": "private"}])

    assert_glance_error(owner, 403)
    assert_glance_error(public, 403)
    assert private.status_code == 200 and private.json()["visibility"] == "private"


async def test_admin_changes_owner(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, owner=uuid.uuid4().hex)
    new_owner = uuid.uuid4().hex

    resp = await patch(cloud, headers, image["id"],
                       [{"op": "replace", "path": "/owner", "value": new_owner}])

    assert resp.status_code == 200 and resp.json()["owner"] == new_owner


async def test_disk_format_changes_only_while_queued(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await upload(cloud, headers, image["id"], b"data")

    resp = await patch(cloud, headers, image["id"],
                       [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])

    assert_glance_error(resp, 403)


async def test_property_and_tag_quotas_are_413(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    cloud.services.image.settings.image.image_property_quota = 2
    cloud.services.image.settings.image.image_tag_quota = 1
    image = await create(cloud, headers, a="1", b="2", tags=["t1"])

    too_many_props = await patch(cloud, headers, image["id"],
                                 [{"op": "add", "path": "/c", "value": "3"}])
    too_many_tags = await cloud.client.put(f"{IMAGES}/{image['id']}/tags/t2", headers=headers)
    at_create = await cloud.client.post(IMAGES, headers=headers, json={"a": "1", "b": "2",
                                                                       "c": "3"})

    assert_glance_error(too_many_props, 413)
    assert_glance_error(too_many_tags, 413)
    assert_glance_error(at_create, 413)


async def test_image_count_quota_is_413(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    cloud.services.image.settings.image.image_count_total = 2
    await create(cloud, caller.headers)
    await create(cloud, caller.headers)

    resp = await cloud.client.post(IMAGES, headers=caller.headers, json={"name": "third"})

    assert_glance_error(resp, 413)
    assert "image_count_total" in resp.text


async def test_tags_add_is_idempotent_and_delete_of_missing_tag_is_404(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    path = f"{IMAGES}/{image['id']}/tags"

    first = await cloud.client.put(f"{path}/blue", headers=headers)
    again = await cloud.client.put(f"{path}/blue", headers=headers)
    tags = (await show(cloud, headers, image["id"]))["tags"]
    removed = await cloud.client.delete(f"{path}/blue", headers=headers)
    missing = await cloud.client.delete(f"{path}/blue", headers=headers)
    unknown_image = await cloud.client.put(f"{IMAGES}/{uuid.uuid4()}/tags/x", headers=headers)
    too_long = await cloud.client.put(f"{path}/{'x' * 256}", headers=headers)

    assert (first.status_code, again.status_code, removed.status_code) == (204, 204, 204)
    assert tags == ["blue"]
    assert_glance_error(missing, 404)
    assert_glance_error(unknown_image, 404)
    assert_glance_error(too_long, 400)


async def test_delete_removes_record_and_data(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers)
    await upload(cloud, headers, image["id"], b"to be deleted")
    store_dir = cloud.services.image.settings.image_dir / "file"
    assert (store_dir / image["id"]).exists()

    first = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)
    second = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)

    assert first.status_code == 204
    assert_glance_error(second, 404)
    assert not (store_dir / image["id"]).exists()
    assert_glance_error(await cloud.client.get(f"{IMAGES}/{image['id']}", headers=headers), 404)


async def test_protected_image_cannot_be_deleted_until_unprotected(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    image = await create(cloud, headers, protected=True)

    refused = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)
    await patch(cloud, headers, image["id"],
                [{"op": "replace", "path": "/protected", "value": False}])
    allowed = await cloud.client.delete(f"{IMAGES}/{image['id']}", headers=headers)

    assert_glance_error(refused, 403)
    assert allowed.status_code == 204


async def test_deactivate_and_reactivate(cloud: Cloud) -> None:
    admin, caller = await cloud.admin_headers(), await new_caller(cloud)
    image = await create(cloud, admin, visibility="public")
    queued = await cloud.client.post(f"{IMAGES}/{image['id']}/actions/deactivate",
                                     headers=admin)
    await upload(cloud, admin, image["id"], b"bytes")
    actions = f"{IMAGES}/{image['id']}/actions"

    by_member = await cloud.client.post(f"{actions}/deactivate", headers=caller.headers)
    deactivated = await cloud.client.post(f"{actions}/deactivate", headers=admin)
    twice = await cloud.client.post(f"{actions}/deactivate", headers=admin)
    status = (await show(cloud, admin, image["id"]))["status"]
    member_download = await cloud.client.get(f"{IMAGES}/{image['id']}/file",
                                             headers=caller.headers)
    admin_download = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=admin)
    reactivated = await cloud.client.post(f"{actions}/reactivate", headers=admin)

    assert_glance_error(queued, 403)
    assert_glance_error(by_member, 403)
    assert (deactivated.status_code, twice.status_code, status) == (204, 204, "deactivated")
    assert_glance_error(member_download, 403)
    assert admin_download.content == b"bytes"
    assert reactivated.status_code == 204
    assert (await show(cloud, caller.headers, image["id"]))["status"] == "active"


async def test_schemas(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()

    found = {name: (await cloud.client.get(f"/image/v2/schemas/{name}", headers=headers))
             for name in ("image", "images", "member", "members")}
    missing = await cloud.client.get("/image/v2/schemas/nothing", headers=headers)

    assert {name: r.json()["name"] for name, r in found.items()} == \
        {n: n for n in found}
    image = found["image"].json()
    assert image["additionalProperties"] == {"type": "string"}
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    assert image["properties"]["status"]["readOnly"] is True
    assert found["images"].json()["properties"]["images"]["items"]["name"] == "image"
    assert_glance_error(missing, 404)
    assert PATCH_TYPE  # the media type clients send with these schemas


async def test_owner_deactivates_own_image_and_then_cannot_download_it(cloud: Cloud) -> None:
    owner = await new_caller(cloud)
    image = await create(cloud, owner.headers)
    await upload(cloud, owner.headers, image["id"], b"bytes")
    actions = f"{IMAGES}/{image['id']}/actions"

    deactivated = await cloud.client.post(f"{actions}/deactivate", headers=owner.headers)
    download = await cloud.client.get(f"{IMAGES}/{image['id']}/file", headers=owner.headers)
    reactivated = await cloud.client.post(f"{actions}/reactivate", headers=owner.headers)

    assert deactivated.status_code == 204 and reactivated.status_code == 204
    assert_glance_error(download, 403)
