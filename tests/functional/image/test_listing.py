"""`GET /v2/images`: Glance's filters, sorting and marker/limit pagination with `next` links."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.functional.conftest import Cloud
from tests.functional.image.helpers import IMAGES, assert_glance_error, create, ids, upload
from tests.functional.image.users import Caller, new_caller


async def seed(cloud: Cloud, caller: Caller) -> dict[str, dict[str, Any]]:
    """Five images with distinct names, sizes, formats, tags and properties."""
    specs = [
        ("alpha", "raw", "bare", 100, ["linux"], {"os_distro": "debian"}),
        ("bravo", "qcow2", "bare", 300, ["linux", "small"], {"os_distro": "ubuntu"}),
        ("charlie", "iso", "ovf", 200, [], {}),
        ("delta", "raw", "bare", None, ["small"], {"hw_disk_bus": "scsi"}),
        ("echo, with comma", "vhd", "ova", 50, [], {}),
    ]
    made = {}
    for name, disk, container, size, tags, props in specs:
        image = await create(cloud, caller.headers, name=name, disk_format=disk,
                             container_format=container, tags=tags, **props)
        if size is not None:
            await upload(cloud, caller.headers, image["id"], b"x" * size)
        made[name] = image
    return made


async def names(cloud: Cloud, caller: Caller, query: str) -> list[str]:
    resp = await cloud.client.get(f"{IMAGES}{query}", headers=caller.headers)
    assert resp.status_code == 200, resp.text
    return [i["name"] for i in resp.json()["images"]]


@pytest.mark.parametrize("query, expected", [
    ("?name=bravo", ["bravo"]),
    ("?name=in:alpha,charlie", ["alpha", "charlie"]),
    ('?name=in:"echo, with comma",delta', ["delta", "echo, with comma"]),
    ("?status=queued", ["delta"]),
    ("?status=in:active,queued", ["alpha", "bravo", "charlie", "delta", "echo, with comma"]),
    ("?disk_format=raw", ["alpha", "delta"]),
    ("?container_format=in:ovf,ova", ["charlie", "echo, with comma"]),
    ("?tag=linux", ["alpha", "bravo"]),
    ("?tag=linux&tag=small", ["bravo"]),
    ("?size_min=100&size_max=250", ["alpha", "charlie"]),
    ("?size=300", ["bravo"]),
    ("?os_distro=ubuntu", ["bravo"]),
    ("?hw_disk_bus=scsi", ["delta"]),
    ("?protected=false&visibility=shared", ["alpha", "bravo", "charlie", "delta",
                                             "echo, with comma"]),
    ("?visibility=public", []),
])
async def test_filters(cloud: Cloud, query: str, expected: list[str]) -> None:
    caller = await new_caller(cloud)
    await seed(cloud, caller)

    assert sorted(await names(cloud, caller, query)) == expected


async def test_owner_filter(cloud: Cloud) -> None:
    first, second = await new_caller(cloud), await new_caller(cloud)
    mine = await create(cloud, first.headers, name="mine")
    await create(cloud, second.headers, name="theirs")
    admin = await cloud.admin_headers()

    assert await ids(cloud, admin, f"?owner={first.project_id}") == [mine["id"]]


async def test_created_at_and_updated_at_ranges(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    old = await create(cloud, caller.headers, name="old")
    await asyncio.sleep(1.1)  # timestamps have one-second resolution
    new = await create(cloud, caller.headers, name="new")
    when = new["created_at"]

    assert await names(cloud, caller, f"?created_at=gte:{when}") == ["new"]
    assert await names(cloud, caller, f"?created_at=lt:{when}") == ["old"]
    assert await names(cloud, caller, f"?created_at={when}") == ["new"]
    assert sorted(await names(cloud, caller, f"?updated_at=lte:{when}")) == ["new", "old"]
    assert await names(cloud, caller, f"?created_at=neq:{old['created_at']}") == ["new"]


async def test_hidden_images_are_listed_only_when_asked(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    hidden = await create(cloud, caller.headers, os_hidden=True)
    shown = await create(cloud, caller.headers)

    assert await ids(cloud, caller.headers) == [shown["id"]]
    assert await ids(cloud, caller.headers, "?os_hidden=true") == [hidden["id"]]


@pytest.mark.parametrize("query", [
    "?limit=abc", "?limit=-1", "?sort_key=owner", "?sort_dir=up", "?sort=name:up",
    "?sort=name:asc&sort_key=name", "?sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc"
    "&sort_dir=asc", "?visibility=everyone", "?os_hidden=maybe", "?protected=perhaps",
    "?size_min=big", "?created_at=gt:yesterday", "?created_at=after:2020-01-01T00:00:00Z",
    "?status=like:act", "?changes-since=2020-01-01T00:00:00Z",
    "?marker=00000000-0000-0000-0000-000000000000",
])
async def test_bad_list_parameters_are_400(cloud: Cloud, query: str) -> None:
    resp = await cloud.client.get(f"{IMAGES}{query}", headers=await cloud.admin_headers())

    assert_glance_error(resp, 400)


@pytest.mark.parametrize("query, expected", [
    ("?sort_key=name&sort_dir=asc", ["alpha", "bravo", "charlie", "delta", "echo, with comma"]),
    ("?sort=name:desc", ["echo, with comma", "delta", "charlie", "bravo", "alpha"]),
    ("?sort=size:asc,name:asc", ["delta", "echo, with comma", "alpha", "charlie", "bravo"]),
    ("?sort_key=disk_format&sort_key=name&sort_dir=asc",
     ["charlie", "bravo", "alpha", "delta", "echo, with comma"]),
    ("?sort_key=size&sort_dir=desc", ["bravo", "charlie", "alpha", "echo, with comma",
                                      "delta"]),
])
async def test_sorting(cloud: Cloud, query: str, expected: list[str]) -> None:
    caller = await new_caller(cloud)
    await seed(cloud, caller)

    assert await names(cloud, caller, query) == expected


@pytest.mark.parametrize("sort", ["sort=name:asc", "sort=size:desc,name:asc",
                                  "sort_key=status&sort_dir=asc", ""])
async def test_pagination_follows_next_links_without_gaps_or_repeats(cloud: Cloud,
                                                                     sort: str) -> None:
    caller = await new_caller(cloud)
    made = await seed(cloud, caller)
    for i in range(4):
        await create(cloud, caller.headers, name=f"same-{i}")  # ties on most sort keys
    everything = await names(cloud, caller, f"?{sort}&limit=100")
    seen: list[str] = []
    url = f"{IMAGES}?{sort}&limit=2&tag="[: -len("&tag=")]
    pages = 0

    while url:
        resp = await cloud.client.get(url, headers=caller.headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen.extend(i["name"] for i in body["images"])
        assert body["first"].startswith("/v2/images")
        pages += 1
        url = f"/image{body['next']}" if "next" in body else ""
        if url:
            query = parse_qs(urlsplit(body["next"]).query)
            assert query["limit"] == ["2"] and "marker" in query

    assert seen == everything
    assert len(seen) == len(made) + 4
    assert pages == 5


async def test_limit_is_capped_and_defaults_apply(cloud: Cloud) -> None:
    caller = await new_caller(cloud)
    settings = cloud.services.image.settings.image
    settings.limit_param_default, settings.api_limit_max = 2, 3
    for i in range(4):
        await create(cloud, caller.headers, name=f"i{i}")

    default = (await cloud.client.get(IMAGES, headers=caller.headers)).json()
    capped = (await cloud.client.get(f"{IMAGES}?limit=50", headers=caller.headers)).json()
    zero = (await cloud.client.get(f"{IMAGES}?limit=0", headers=caller.headers)).json()

    assert len(default["images"]) == 2 and "next" in default
    assert len(capped["images"]) == 3
    assert zero["images"] == [] and "next" not in zero
