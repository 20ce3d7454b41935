"""Resource providers: create, show, list filters, trees, rename, re-parent, delete."""

from __future__ import annotations

from tests.functional.placement.helpers import Placement, error, new_uuid


async def test_create_show_update_delete(placement: Placement) -> None:
    wanted = new_uuid()
    resp = await placement.post("/resource_providers", {"name": "node1", "uuid": wanted})
    assert resp.status_code == 200
    body = resp.json()
    assert resp.headers["location"] == f"http://nimbus.test/placement/resource_providers/{wanted}"
    assert body["uuid"] == wanted and body["generation"] == 0
    assert body["root_provider_uuid"] == wanted and body["parent_provider_uuid"] is None
    assert {link["rel"] for link in body["links"]} == {
        "self", "inventories", "usages", "aggregates", "traits", "allocations"}
    assert body["links"][0]["href"] == f"/placement/resource_providers/{wanted}"
    resp = await placement.put(f"/resource_providers/{wanted}", {"name": "node1-renamed"})
    assert resp.status_code == 200 and resp.json()["name"] == "node1-renamed"
    assert (await placement.delete(f"/resource_providers/{wanted}")).status_code == 204
    assert (await placement.get(f"/resource_providers/{wanted}")).status_code == 404


async def test_old_microversions_answer_201_without_body_and_fewer_fields(placement: Placement) -> None:
    resp = await placement.post("/resource_providers", {"name": "old"}, version="placement 1.0")
    assert resp.status_code == 201 and resp.content == b""
    shown = (await placement.get(resp.headers["location"].removeprefix("http://nimbus.test/placement"),
                                 version="placement 1.0")).json()
    assert "root_provider_uuid" not in shown
    assert {link["rel"] for link in shown["links"]} == {"self", "inventories", "usages"}
    bad = await placement.post("/resource_providers", {"name": "x", "parent_provider_uuid": None},
                               version="placement 1.13")
    assert bad.status_code == 400


async def test_duplicate_name_or_uuid_is_409_duplicate_name(placement: Placement) -> None:
    rp = await placement.provider("dup")
    for body in ({"name": "dup"}, {"name": "other", "uuid": rp}):
        resp = await placement.post("/resource_providers", body)
        assert resp.status_code == 409
        assert error(resp)["code"] == "placement.duplicate_name"
    other = await placement.provider("other2")
    resp = await placement.put(f"/resource_providers/{other}", {"name": "dup"})
    assert resp.status_code == 409 and error(resp)["code"] == "placement.duplicate_name"


async def test_bad_bodies_are_400(placement: Placement) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "x", "uuid": "not-a-uuid"},
                 {"name": "x", "extra": 1}, {"name": 5},
                 {"name": "x", "parent_provider_uuid": new_uuid()}):
        resp = await placement.post("/resource_providers", body)
        assert resp.status_code == 400, (body, resp.text)
        assert error(resp)["title"] == "Bad Request"


async def test_trees_in_tree_and_parent_rules(placement: Placement) -> None:
    root = await placement.provider("root")
    child = await placement.provider("child", parent=root)
    grandchild = await placement.provider("grandchild", parent=child)
    other = await placement.provider("other")
    shown = (await placement.get(f"/resource_providers/{grandchild}")).json()
    assert shown["root_provider_uuid"] == root and shown["parent_provider_uuid"] == child
    listed = (await placement.get(f"/resource_providers?in_tree={child}")).json()
    assert {p["uuid"] for p in listed["resource_providers"]} == {root, child, grandchild}
    # A loop is refused; a parent once set stays before 1.37, moves from 1.37.
    resp = await placement.put(f"/resource_providers/{root}",
                               {"name": "root", "parent_provider_uuid": grandchild})
    assert resp.status_code == 400
    resp = await placement.put(f"/resource_providers/{child}",
                               {"name": "child", "parent_provider_uuid": other},
                               version="placement 1.36")
    assert resp.status_code == 400
    resp = await placement.put(f"/resource_providers/{child}",
                               {"name": "child", "parent_provider_uuid": other})
    assert resp.status_code == 200 and resp.json()["root_provider_uuid"] == other
    moved = (await placement.get(f"/resource_providers/{grandchild}")).json()
    assert moved["root_provider_uuid"] == other
    resp = await placement.put(f"/resource_providers/{child}",
                               {"name": "child", "parent_provider_uuid": None})
    assert resp.json()["root_provider_uuid"] == child
    resp = await placement.delete(f"/resource_providers/{child}")
    assert resp.status_code == 409
    assert error(resp)["code"] == "placement.resource_provider.cannot_delete_parent"


async def test_list_filters(placement: Placement) -> None:
    agg_a, agg_b = new_uuid(), new_uuid()
    big = await placement.provider("big", inventory={"VCPU": {"total": 16}},
                                   traits=["HW_CPU_X86_AVX2", "CUSTOM_GOLD"], aggregates=[agg_a])
    small = await placement.provider("small", inventory={"VCPU": {"total": 2}},
                                     traits=["HW_CPU_X86_AVX2"], aggregates=[agg_b])
    bare = await placement.provider("bare")

    async def names(query: str, version: str | None = None) -> set[str]:
        resp = await placement.get(f"/resource_providers{query}", version=version)
        assert resp.status_code == 200, resp.text
        return {p["name"] for p in resp.json()["resource_providers"]}

    assert await names("?name=small") == {"small"}
    assert await names(f"?uuid={bare}") == {"bare"}
    assert await names("?resources=VCPU:4") == {"big"}
    assert await names("?resources=VCPU:2") == {"big", "small"}
    assert await names(f"?member_of={agg_b}") == {"small"}
    assert await names(f"?member_of=in:{agg_a},{agg_b}") == {"big", "small"}
    assert await names(f"?member_of=!{agg_a}") == {"small", "bare"}
    assert await names("?required=HW_CPU_X86_AVX2,!CUSTOM_GOLD") == {"small"}
    assert await names("?required=in:CUSTOM_GOLD,HW_CPU_X86_AVX2") == {"big", "small"}
    for bad in ("?resources=VCPU", "?resources=VCPU:0", "?resources=CUSTOM_NOPE:1",
                "?required=CUSTOM_NOPE", "?member_of=nope", "?in_tree=nope", "?foo=bar",
                f"?member_of={agg_a},{agg_b}"):
        resp = await placement.get(f"/resource_providers{bad}")
        assert resp.status_code == 400, (bad, resp.text)
    assert (await placement.get("/resource_providers?required=HW_CPU_X86_AVX2",
                                version="placement 1.17")).status_code == 400
    assert big and small


async def test_delete_with_allocations_is_refused(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 4}})
    assert (await placement.claim(new_uuid(), {rp: {"VCPU": 1}})).status_code == 204
    resp = await placement.delete(f"/resource_providers/{rp}")
    assert resp.status_code == 409 and error(resp)["code"] == "placement.resource_provider.inuse"
