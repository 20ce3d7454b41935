"""Volume and snapshot metadata: the same six routes over each, as Cinder has them."""

from __future__ import annotations

import pytest

from tests.functional.conftest import Cloud
from tests.functional.volume.helpers import available_volume, base, wait_for

MISSING = "3f5b1c1e-0000-4000-8000-000000000000"


async def _owner(cloud: Cloud, admin: dict[str, str], kind: str) -> str:
    volume = await available_volume(cloud, admin)
    if kind == "volumes":
        return str(volume["id"])
    made = await cloud.client.post(f"{await base(cloud, admin)}/snapshots", headers=admin,
                                   json={"snapshot": {"volume_id": volume["id"]}})
    assert made.status_code == 202, made.text
    snap = await wait_for(cloud, admin, made.json()["snapshot"]["id"], "available",
                          kind="snapshot")
    assert snap is not None
    return str(snap["id"])


@pytest.mark.parametrize("kind", ["volumes", "snapshots"])
async def test_metadata_routes_merge_replace_and_edit_one_key(cloud: Cloud, kind: str) -> None:
    admin = await cloud.admin_headers()
    url = f"{await base(cloud, admin)}/{kind}/{await _owner(cloud, admin, kind)}/metadata"

    merged = await cloud.client.post(url, headers=admin, json={"metadata": {"a": "1", "b": "2"}})
    replaced = await cloud.client.put(url, headers=admin, json={"metadata": {"b": "3", "c": "4"}})
    one = await cloud.client.get(f"{url}/c", headers=admin)
    set_one = await cloud.client.put(f"{url}/d", headers=admin, json={"meta": {"d": "5"}})
    mismatch = await cloud.client.put(f"{url}/d", headers=admin, json={"meta": {"e": "6"}})
    removed = await cloud.client.delete(f"{url}/b", headers=admin)
    gone = await cloud.client.get(f"{url}/b", headers=admin)
    shown = await cloud.client.get(url, headers=admin)
    unknown = await cloud.client.get(
        f"{await base(cloud, admin)}/{kind}/{MISSING}/metadata", headers=admin)

    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    assert replaced.json() == {"metadata": {"b": "3", "c": "4"}}
    assert one.json() == {"meta": {"c": "4"}}
    assert set_one.json() == {"meta": {"d": "5"}}
    assert mismatch.status_code == 400 and "badRequest" in mismatch.json()
    assert removed.status_code == 200 and gone.status_code == 404
    assert shown.json() == {"metadata": {"c": "4", "d": "5"}}
    assert unknown.status_code == 404 and "itemNotFound" in unknown.json()
