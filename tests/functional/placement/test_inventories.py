"""Inventories: whole-set and per-class writes, generations, capacity rules, in-use checks."""

from __future__ import annotations

from tests.functional.placement.helpers import Placement, error, new_uuid

MAX_INT = 2**31 - 1


async def test_set_show_and_defaults(placement: Placement) -> None:
    rp = await placement.provider()
    body = await placement.set_inventory(rp, {"VCPU": {"total": 8, "allocation_ratio": 16.0},
                                              "MEMORY_MB": {"total": 4096, "reserved": 512}})
    assert body["resource_provider_generation"] == 1
    assert body["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1,
                                           "max_unit": MAX_INT, "step_size": 1,
                                           "allocation_ratio": 16.0}
    one = (await placement.get(f"/resource_providers/{rp}/inventories/MEMORY_MB")).json()
    assert one["reserved"] == 512 and one["resource_provider_generation"] == 1
    assert (await placement.get(f"/resource_providers/{rp}/inventories/DISK_GB")).status_code == 404


async def test_stale_generation_is_409_concurrent_update(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 8}})
    resp = await placement.put(f"/resource_providers/{rp}/inventories",
                               {"resource_provider_generation": 0,
                                "inventories": {"VCPU": {"total": 4}}})
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.concurrent_update"
    resp = await placement.put(f"/resource_providers/{rp}/inventories/VCPU",
                               {"resource_provider_generation": 0, "total": 4})
    assert resp.status_code == 409


async def test_per_class_update_create_and_delete(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 8}})
    resp = await placement.put(f"/resource_providers/{rp}/inventories/VCPU",
                               {"resource_provider_generation": 1, "total": 16, "max_unit": 4})
    assert resp.status_code == 200
    assert resp.json()["total"] == 16 and resp.json()["resource_provider_generation"] == 2
    resp = await placement.put(f"/resource_providers/{rp}/inventories/DISK_GB",
                               {"resource_provider_generation": 2, "total": 100})
    assert resp.status_code == 400
    resp = await placement.post(f"/resource_providers/{rp}/inventories",
                                {"resource_class": "DISK_GB", "total": 100})
    assert resp.status_code == 201 and resp.headers["location"].endswith("/inventories/DISK_GB")
    assert (await placement.delete(f"/resource_providers/{rp}/inventories/DISK_GB")).status_code == 204
    assert (await placement.delete(f"/resource_providers/{rp}/inventories/DISK_GB")).status_code == 404
    assert (await placement.delete(f"/resource_providers/{rp}/inventories")).status_code == 204
    assert (await placement.get(f"/resource_providers/{rp}/inventories")).json()["inventories"] == {}


async def test_bad_inventories_are_400(placement: Placement) -> None:
    rp = await placement.provider()
    for inv in ({"total": 0}, {"total": -1}, {"total": MAX_INT + 1}, {"total": "8"},
                {"total": 8, "reserved": 9}, {"total": 8, "min_unit": 0}, {"total": 8, "bogus": 1},
                {"total": 8, "allocation_ratio": -1.0}, {}):
        resp = await placement.put(f"/resource_providers/{rp}/inventories",
                                   {"resource_provider_generation": 0, "inventories": {"VCPU": inv}})
        assert resp.status_code == 400, (inv, resp.text)
    resp = await placement.client.put(
        f"/placement/resource_providers/{rp}/inventories", headers={
            **placement.headers(), "Content-Type": "application/json"},
        content=b'{"resource_provider_generation": 0, "inventories": '
                b'{"VCPU": {"total": 8, "allocation_ratio": -Infinity}}}')
    assert resp.status_code == 400, resp.text
    for name in ("vcpu", "CUSTOM_UNKNOWN", "NOT_A_CLASS"):
        resp = await placement.put(f"/resource_providers/{rp}/inventories",
                                   {"resource_provider_generation": 0,
                                    "inventories": {name: {"total": 1}}})
        assert resp.status_code == 400, (name, resp.text)
    resp = await placement.put(f"/resource_providers/{rp}/inventories", {"inventories": {}})
    assert resp.status_code == 400
    missing = await placement.put(f"/resource_providers/{new_uuid()}/inventories",
                                  {"resource_provider_generation": 0, "inventories": {}})
    assert missing.status_code == 404


async def test_reserved_may_equal_total_from_1_26(placement: Placement) -> None:
    rp = await placement.provider()
    full = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "reserved": 4}}}
    resp = await placement.put(f"/resource_providers/{rp}/inventories", full,
                               version="placement 1.25")
    assert resp.status_code == 400
    resp = await placement.put(f"/resource_providers/{rp}/inventories", full,
                               version="placement 1.26")
    assert resp.status_code == 200


async def test_custom_classes_and_in_use_inventory(placement: Placement) -> None:
    assert (await placement.put("/resource_classes/CUSTOM_GPU")).status_code == 201
    rp = await placement.provider(inventory={"CUSTOM_GPU": {"total": 2}, "VCPU": {"total": 4}})
    assert (await placement.claim(new_uuid(), {rp: {"CUSTOM_GPU": 1}})).status_code == 204
    generation = (await placement.get(f"/resource_providers/{rp}")).json()["generation"]
    resp = await placement.put(f"/resource_providers/{rp}/inventories",
                               {"resource_provider_generation": generation,
                                "inventories": {"VCPU": {"total": 4}}})
    assert resp.status_code == 409 and error(resp)["code"] == "placement.inventory.inuse"
    assert (await placement.delete(f"/resource_providers/{rp}/inventories/CUSTOM_GPU")).status_code == 409
    resp = await placement.delete("/resource_classes/CUSTOM_GPU")
    assert resp.status_code == 409
