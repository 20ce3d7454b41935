"""Traits, resource classes, provider aggregates, and the reshaper."""

from __future__ import annotations

from tests.functional.placement.helpers import Placement, error, new_uuid


async def test_standard_traits_include_what_compute_reports(placement: Placement) -> None:
    traits = (await placement.get("/traits")).json()["traits"]
    for name in ("COMPUTE_NODE", "COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX2",
                 "COMPUTE_IMAGE_TYPE_QCOW2", "MISC_SHARES_VIA_AGGREGATE"):
        assert name in traits
    custom = (await placement.get("/traits?name=startswith:CUSTOM")).json()["traits"]
    assert custom == []
    assert (await placement.get("/traits/HW_CPU_X86_AVX2")).status_code == 204


async def test_custom_traits_lifecycle(placement: Placement) -> None:
    resp = await placement.put("/traits/CUSTOM_FAST")
    assert resp.status_code == 201 and resp.headers["location"].endswith("/traits/CUSTOM_FAST")
    assert (await placement.put("/traits/CUSTOM_FAST")).status_code == 204
    for bad in ("FAST", "CUSTOM_lower", "CUSTOM_" + "X" * 300):
        assert (await placement.put(f"/traits/{bad}")).status_code == 400
    assert (await placement.delete("/traits/HW_CPU_X86_AVX2")).status_code == 400
    rp = await placement.provider(traits=["CUSTOM_FAST"])
    assert (await placement.get("/traits?associated=true&name=in:CUSTOM_FAST,COMPUTE_NODE")
            ).json()["traits"] == ["CUSTOM_FAST"]
    assert (await placement.delete("/traits/CUSTOM_FAST")).status_code == 409
    assert (await placement.delete(f"/resource_providers/{rp}/traits")).status_code == 204
    assert (await placement.delete("/traits/CUSTOM_FAST")).status_code == 204
    assert (await placement.get("/traits/CUSTOM_FAST")).status_code == 404
    assert (await placement.get("/traits?associated=maybe")).status_code == 400


async def test_provider_traits_use_generations(placement: Placement) -> None:
    rp = await placement.provider()
    resp = await placement.put(f"/resource_providers/{rp}/traits",
                               {"traits": ["COMPUTE_NODE", "HW_CPU_X86_SSE"],
                                "resource_provider_generation": 0})
    assert resp.json() == {"traits": ["COMPUTE_NODE", "HW_CPU_X86_SSE"],
                           "resource_provider_generation": 1}
    stale = await placement.put(f"/resource_providers/{rp}/traits",
                                {"traits": [], "resource_provider_generation": 0})
    assert stale.status_code == 409 and error(stale)["code"] == "placement.concurrent_update"
    unknown = await placement.put(f"/resource_providers/{rp}/traits",
                                  {"traits": ["CUSTOM_NOPE"], "resource_provider_generation": 1})
    assert unknown.status_code == 400


async def test_aggregates_before_and_after_1_19(placement: Placement) -> None:
    rp = await placement.provider()
    agg = new_uuid()
    old = await placement.put(f"/resource_providers/{rp}/aggregates", [agg], version="placement 1.1")
    assert old.status_code == 200 and old.json() == {"aggregates": [agg]}
    shown = (await placement.get(f"/resource_providers/{rp}/aggregates")).json()
    assert shown == {"aggregates": [agg], "resource_provider_generation": 0}
    resp = await placement.put(f"/resource_providers/{rp}/aggregates",
                               {"aggregates": [], "resource_provider_generation": 0})
    assert resp.json() == {"aggregates": [], "resource_provider_generation": 1}
    stale = await placement.put(f"/resource_providers/{rp}/aggregates",
                                {"aggregates": [agg], "resource_provider_generation": 0})
    assert stale.status_code == 409
    for bad in ({"aggregates": ["nope"], "resource_provider_generation": 1},
                {"aggregates": [agg, agg], "resource_provider_generation": 1}, [agg]):
        assert (await placement.put(f"/resource_providers/{rp}/aggregates", bad)).status_code == 400


async def test_resource_classes(placement: Placement) -> None:
    names = [c["name"] for c in (await placement.get("/resource_classes")).json()["resource_classes"]]
    assert {"VCPU", "MEMORY_MB", "DISK_GB", "PCPU"} <= set(names)
    resp = await placement.post("/resource_classes", {"name": "CUSTOM_BAREMETAL_GOLD"})
    assert resp.status_code == 201
    assert (await placement.post("/resource_classes", {"name": "CUSTOM_BAREMETAL_GOLD"})).status_code == 409
    assert (await placement.post("/resource_classes", {"name": "GOLD"})).status_code == 400
    shown = (await placement.get("/resource_classes/CUSTOM_BAREMETAL_GOLD")).json()
    assert shown["links"] == [{"rel": "self", "href": "/placement/resource_classes/CUSTOM_BAREMETAL_GOLD"}]
    renamed = await placement.put("/resource_classes/CUSTOM_BAREMETAL_GOLD",
                                  {"name": "CUSTOM_BAREMETAL_SILVER"}, version="placement 1.6")
    assert renamed.status_code == 200 and renamed.json()["name"] == "CUSTOM_BAREMETAL_SILVER"
    assert (await placement.delete("/resource_classes/VCPU")).status_code == 400
    assert (await placement.delete("/resource_classes/CUSTOM_BAREMETAL_SILVER")).status_code == 204
    assert (await placement.get("/resource_classes/CUSTOM_BAREMETAL_SILVER")).status_code == 404


async def test_reshaper_moves_inventory_and_allocations_to_a_child(placement: Placement) -> None:
    root = await placement.provider(inventory={"VCPU": {"total": 8}, "MEMORY_MB": {"total": 1024}})
    child = await placement.provider(parent=root)
    consumer = new_uuid()
    assert (await placement.claim(consumer, {root: {"VCPU": 2, "MEMORY_MB": 256}})).status_code == 204
    root_gen = (await placement.get(f"/resource_providers/{root}")).json()["generation"]
    body = {"inventories": {
                root: {"resource_provider_generation": root_gen,
                       "inventories": {"MEMORY_MB": {"total": 1024}}},
                child: {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}},
            "allocations": {consumer: {
                "allocations": {root: {"resources": {"MEMORY_MB": 256}},
                                child: {"resources": {"VCPU": 2}}},
                "consumer_generation": 1, "project_id": "p1", "user_id": "u1",
                "consumer_type": "INSTANCE"}}}
    assert (await placement.post("/reshaper", body, version="placement 1.29")).status_code == 404
    resp = await placement.post("/reshaper", body)
    assert resp.status_code == 204, resp.text
    held = (await placement.get(f"/allocations/{consumer}")).json()["allocations"]
    assert held[child]["resources"] == {"VCPU": 2} and held[root]["resources"] == {"MEMORY_MB": 256}
    # Removing inventory that still has allocations is refused, and nothing changes.
    stale = dict(body)
    stale["inventories"] = {child: {"resource_provider_generation": held[child]["generation"],
                                    "inventories": {}}}
    stale["allocations"] = {}
    resp = await placement.post("/reshaper", stale)
    assert resp.status_code == 409 and error(resp)["code"] == "placement.inventory.inuse"
    missing = {**stale, "inventories": {new_uuid(): {"resource_provider_generation": 0,
                                                      "inventories": {}}}}
    resp = await placement.post("/reshaper", missing)
    assert resp.status_code == 400 and error(resp)["code"] == "placement.resource_provider.not_found"
