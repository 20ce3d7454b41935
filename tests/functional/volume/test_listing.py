"""Volume lists: filters, sorting, marker/limit with next links, with_count, summary."""

from __future__ import annotations

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import MV, available_volume, base


async def test_list_filters_sorts_and_pages(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    ids = [(await available_volume(cloud, admin, name=f"v{i}", size=i,
                                   metadata={"even": str(i % 2 == 0)}))["id"] for i in (1, 2, 3)]
    url = f"{await base(cloud, admin)}/volumes"
    h = {**admin, **MV}

    by_name = (await cloud.client.get(f"{url}?name=v2", headers=h)).json()["volumes"]
    by_meta = (await cloud.client.get(url + '/detail?metadata={"even": "True"}',
                                      headers=h)).json()["volumes"]
    sorted_ = (await cloud.client.get(f"{url}?sort=size:asc", headers=h)).json()["volumes"]
    first = (await cloud.client.get(f"{url}?sort=size:asc&limit=2&with_count=true",
                                    headers=h)).json()
    rest = (await cloud.client.get(f"{url}?sort=size:asc&limit=2&marker={ids[1]}",
                                   headers=h)).json()
    like = (await cloud.client.get(f"{url}?name~=v", headers=h)).json()["volumes"]
    summary = (await cloud.client.get(f"{url}/summary", headers=h)).json()["volume-summary"]

    assert [v["id"] for v in by_name] == [ids[1]]
    assert [v["id"] for v in by_meta] == [ids[1]]
    assert [v["id"] for v in sorted_] == ids
    assert [v["id"] for v in first["volumes"]] == ids[:2] and first["count"] == 3
    assert f"marker={ids[1]}" in first["volumes_links"][0]["href"]
    assert [v["id"] for v in rest["volumes"]] == ids[2:] and "volumes_links" not in rest
    assert len(like) == 3
    assert summary["total_count"] == 3 and summary["total_size"] == 6
    assert summary["metadata"] == {"even": ["False", "True"]}


async def test_bad_sort_key_is_bad_request(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    resp = await cloud.client.get(f"{await base(cloud, admin)}/volumes?sort=colour:asc",
                                  headers=admin)

    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == "Invalid input received: Invalid sort key colour"
