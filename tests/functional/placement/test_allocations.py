"""Allocations: claims, capacity and unit rules, consumer generations, moves, usages."""

from __future__ import annotations

from tests.functional.placement.helpers import Placement, error, new_uuid


async def test_claim_show_and_delete(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024}})
    consumer = new_uuid()
    assert (await placement.claim(consumer, {rp: {"VCPU": 2, "MEMORY_MB": 512}})).status_code == 204
    shown = (await placement.get(f"/allocations/{consumer}")).json()
    assert shown == {"allocations": {rp: {"generation": 2, "resources": {"VCPU": 2, "MEMORY_MB": 512}}},
                     "project_id": "p1", "user_id": "u1", "consumer_generation": 1,
                     "consumer_type": "INSTANCE"}
    old = (await placement.get(f"/allocations/{consumer}", version="placement 1.11")).json()
    assert set(old) == {"allocations"}
    by_rp = (await placement.get(f"/resource_providers/{rp}/allocations")).json()
    assert by_rp["allocations"][consumer] == {"resources": {"VCPU": 2, "MEMORY_MB": 512},
                                              "consumer_generation": 1}
    usages = (await placement.get(f"/resource_providers/{rp}/usages")).json()
    assert usages["usages"] == {"VCPU": 2, "MEMORY_MB": 512}
    assert (await placement.delete(f"/allocations/{consumer}")).status_code == 204
    assert (await placement.get(f"/allocations/{consumer}")).json() == {"allocations": {}}
    resp = await placement.delete(f"/allocations/{consumer}")
    assert resp.status_code == 404


async def test_capacity_counts_reserved_and_ratio(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 4, "reserved": 1,
                                                      "allocation_ratio": 2.0}})
    assert (await placement.claim(new_uuid(), {rp: {"VCPU": 6}})).status_code == 204
    resp = await placement.claim(new_uuid(), {rp: {"VCPU": 1}})
    assert resp.status_code == 409 and "capacity" in error(resp)["detail"]
    assert error(resp)["code"] == "placement.undefined_code"


async def test_unit_rules_and_missing_inventory(placement: Placement) -> None:
    rp = await placement.provider(inventory={"DISK_GB": {"total": 100, "min_unit": 10,
                                                         "max_unit": 50, "step_size": 10}})
    for amount in (5, 60, 15):
        assert (await placement.claim(new_uuid(), {rp: {"DISK_GB": amount}})).status_code == 409
    assert (await placement.claim(new_uuid(), {rp: {"DISK_GB": 20}})).status_code == 204
    assert (await placement.claim(new_uuid(), {rp: {"VCPU": 1}})).status_code == 409


async def test_bad_requests_are_400(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 4}})
    good = {"allocations": {rp: {"resources": {"VCPU": 1}}}, "consumer_generation": None,
            "project_id": "p", "user_id": "u", "consumer_type": "INSTANCE"}
    for change in ({"allocations": {rp: {"resources": {"VCPU": 0}}}},
                   {"allocations": {rp: {"resources": {}}}},
                   {"allocations": {"not-a-uuid": {"resources": {"VCPU": 1}}}},
                   {"allocations": {new_uuid(): {"resources": {"VCPU": 1}}}},
                   {"allocations": {rp: {"resources": {"CUSTOM_NOPE": 1}}}},
                   {"project_id": ""}, {"consumer_type": "lower"}, {"extra": True}):
        resp = await placement.put(f"/allocations/{new_uuid()}", {**good, **change})
        assert resp.status_code in (400, 409), (change, resp.text)
        assert resp.status_code == 400 or "CUSTOM_NOPE" in resp.text
    missing_type = {k: v for k, v in good.items() if k != "consumer_type"}
    assert (await placement.put(f"/allocations/{new_uuid()}", missing_type)).status_code == 400
    assert (await placement.put("/allocations/nope", good)).status_code == 400
    assert (await placement.put(f"/allocations/{new_uuid()}", good,
                                version="placement 1.27")).status_code == 400


async def test_consumer_generations_guard_replacement(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 8}})
    consumer = new_uuid()
    assert (await placement.claim(consumer, {rp: {"VCPU": 1}})).status_code == 204
    resp = await placement.claim(consumer, {rp: {"VCPU": 2}})   # still says "new"
    assert resp.status_code == 409 and error(resp)["code"] == "placement.concurrent_update"
    assert (await placement.claim(consumer, {rp: {"VCPU": 2}}, generation=5)).status_code == 409
    assert (await placement.claim(consumer, {rp: {"VCPU": 2}}, generation=1)).status_code == 204
    held = (await placement.get(f"/allocations/{consumer}")).json()
    assert held["consumer_generation"] == 2 and held["allocations"][rp]["resources"] == {"VCPU": 2}
    # An empty PUT with the right generation removes them safely.
    resp = await placement.put(f"/allocations/{consumer}", {
        "allocations": {}, "consumer_generation": 2, "project_id": "p1", "user_id": "u1",
        "consumer_type": "INSTANCE"})
    assert resp.status_code == 204
    assert (await placement.get(f"/allocations/{consumer}")).json() == {"allocations": {}}


async def test_old_list_format_and_incomplete_consumers(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 8}})
    consumer = new_uuid()
    body = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 3}}]}
    assert (await placement.put(f"/allocations/{consumer}", body,
                                version="placement 1.0")).status_code == 204
    assert (await placement.put(f"/allocations/{consumer}", body,
                                version="placement 1.8")).status_code == 400
    shown = (await placement.get(f"/allocations/{consumer}", version="placement 1.12")).json()
    assert shown["allocations"][rp]["resources"] == {"VCPU": 3}
    assert shown["project_id"] == "00000000-0000-0000-0000-000000000000"


async def test_post_moves_allocations_atomically(placement: Placement) -> None:
    source = await placement.provider(inventory={"VCPU": {"total": 2}})
    target = await placement.provider(inventory={"VCPU": {"total": 2}})
    instance, migration = new_uuid(), new_uuid()
    assert (await placement.claim(instance, {source: {"VCPU": 2}})).status_code == 204
    move = {
        migration: {"allocations": {source: {"resources": {"VCPU": 2}}}, "consumer_generation": None,
                    "project_id": "p1", "user_id": "u1", "consumer_type": "MIGRATION"},
        instance: {"allocations": {target: {"resources": {"VCPU": 2}}}, "consumer_generation": 1,
                   "project_id": "p1", "user_id": "u1", "consumer_type": "INSTANCE"}}
    assert (await placement.post("/allocations", move)).status_code == 204
    assert list((await placement.get(f"/allocations/{instance}")).json()["allocations"]) == [target]
    assert list((await placement.get(f"/allocations/{migration}")).json()["allocations"]) == [source]
    # A second move that does not fit changes nothing.
    other = new_uuid()
    too_much = {other: {"allocations": {target: {"resources": {"VCPU": 1}}},
                        "consumer_generation": None, "project_id": "p1", "user_id": "u1",
                        "consumer_type": "INSTANCE"},
                migration: {"allocations": {}, "consumer_generation": 1, "project_id": "p1",
                            "user_id": "u1", "consumer_type": "MIGRATION"}}
    assert (await placement.post("/allocations", too_much)).status_code == 409
    assert list((await placement.get(f"/allocations/{migration}")).json()["allocations"]) == [source]


async def test_project_usages_by_consumer_type(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 16}, "MEMORY_MB": {"total": 4096}})
    await placement.claim(new_uuid(), {rp: {"VCPU": 2, "MEMORY_MB": 512}}, project="pa", user="ua")
    await placement.claim(new_uuid(), {rp: {"VCPU": 1}}, project="pa", user="ub")
    await placement.claim(new_uuid(), {rp: {"VCPU": 4}}, project="pa", user="ua",
                          consumer_type="MIGRATION")
    await placement.claim(new_uuid(), {rp: {"VCPU": 8}}, project="other")
    old = (await placement.get("/usages?project_id=pa", version="placement 1.9")).json()
    assert old == {"usages": {"VCPU": 7, "MEMORY_MB": 512}}
    user = (await placement.get("/usages?project_id=pa&user_id=ua", version="placement 1.9")).json()
    assert user == {"usages": {"VCPU": 6, "MEMORY_MB": 512}}
    typed = (await placement.get("/usages?project_id=pa")).json()["usages"]
    assert typed == {"INSTANCE": {"consumer_count": 2, "VCPU": 3, "MEMORY_MB": 512},
                     "MIGRATION": {"consumer_count": 1, "VCPU": 4}}
    everything = (await placement.get("/usages?project_id=pa&consumer_type=all")).json()["usages"]
    assert everything == {"all": {"consumer_count": 3, "VCPU": 7, "MEMORY_MB": 512}}
    only = (await placement.get("/usages?project_id=pa&consumer_type=MIGRATION")).json()["usages"]
    assert only == {"MIGRATION": {"consumer_count": 1, "VCPU": 4}}
    assert (await placement.get("/usages")).status_code == 400
    assert (await placement.get("/usages?project_id=pa&consumer_type=bad-type")).status_code == 400
