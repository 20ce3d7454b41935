"""Allocation candidates: flat hosts, traits, aggregates, trees, sharing, granular groups."""

from __future__ import annotations

from typing import Any

from tests.functional.placement.helpers import Placement, new_uuid


async def _candidates(placement: Placement, query: str, version: str | None = None) -> dict[str, Any]:
    resp = await placement.get(f"/allocation_candidates?{query}", version=version)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _sets(body: dict[str, Any]) -> list[dict[str, dict[str, int]]]:
    return [{rp: a["resources"] for rp, a in req["allocations"].items()}
            for req in body["allocation_requests"]]


async def test_flat_hosts_with_capacity_limit_and_summaries(placement: Placement) -> None:
    host = {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 2048}, "DISK_GB": {"total": 100}}
    a = await placement.provider("host-a", inventory=host, traits=["COMPUTE_STATUS_DISABLED"])
    b = await placement.provider("host-b", inventory=host)
    full = await placement.provider("host-full", inventory={"VCPU": {"total": 1}, **{
        k: v for k, v in host.items() if k != "VCPU"}})
    body = await _candidates(placement, "resources=VCPU:2,MEMORY_MB:512")
    assert _sets(body) == [{a: {"MEMORY_MB": 512, "VCPU": 2}}, {b: {"MEMORY_MB": 512, "VCPU": 2}}]
    assert body["allocation_requests"][0]["mappings"] == {"": [a]}
    summary = body["provider_summaries"][a]
    assert summary["resources"]["VCPU"] == {"capacity": 4, "used": 0}
    assert set(summary["resources"]) == {"VCPU", "MEMORY_MB", "DISK_GB"}
    assert summary["traits"] == ["COMPUTE_STATUS_DISABLED"]
    assert summary["root_provider_uuid"] == a and summary["parent_provider_uuid"] is None
    assert full not in body["provider_summaries"]
    limited = await _candidates(placement, "resources=VCPU:1&limit=1")
    assert len(limited["allocation_requests"]) == 1 and len(limited["provider_summaries"]) == 1
    forbidden = await _candidates(placement, "resources=VCPU:1&required=!COMPUTE_STATUS_DISABLED")
    assert {rp for s in _sets(forbidden) for rp in s} == {b, full}
    old = await _candidates(placement, "resources=VCPU:2", version="placement 1.10")
    assert old["allocation_requests"][0]["allocations"] == [
        {"resource_provider": {"uuid": a}, "resources": {"VCPU": 2}}]
    assert set(old["provider_summaries"][a]) == {"resources"}
    assert set(old["provider_summaries"][a]["resources"]) == {"VCPU"}


async def test_used_capacity_and_any_traits(placement: Placement) -> None:
    a = await placement.provider(inventory={"VCPU": {"total": 2}}, traits=["HW_CPU_X86_AVX2"])
    b = await placement.provider(inventory={"VCPU": {"total": 2}}, traits=["HW_CPU_X86_SSE42"])
    await placement.claim(new_uuid(), {a: {"VCPU": 2}})
    assert _sets(await _candidates(placement, "resources=VCPU:1")) == [{b: {"VCPU": 1}}]
    body = await _candidates(placement, "resources=VCPU:1&required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE42")
    assert _sets(body) == [{b: {"VCPU": 1}}]
    assert _sets(await _candidates(placement, "resources=VCPU:1&required=HW_CPU_X86_AVX2")) == []


async def test_member_of_root_aggregate_covers_its_tree(placement: Placement) -> None:
    agg = new_uuid()
    root = await placement.provider("cn", inventory={"MEMORY_MB": {"total": 1024}}, aggregates=[agg])
    numa0 = await placement.provider("numa0", parent=root, inventory={"VCPU": {"total": 4}})
    numa1 = await placement.provider("numa1", parent=root, inventory={"VCPU": {"total": 4}})
    await placement.provider("lonely", inventory={"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024}})
    body = await _candidates(placement, f"resources=VCPU:1,MEMORY_MB:512&member_of={agg}")
    assert _sets(body) == [{root: {"MEMORY_MB": 512}, numa0: {"VCPU": 1}},
                           {root: {"MEMORY_MB": 512}, numa1: {"VCPU": 1}}]
    assert set(body["provider_summaries"]) == {root, numa0, numa1}
    assert body["provider_summaries"][numa0]["parent_provider_uuid"] == root
    # Before 1.29 a candidate may not spread over one tree.
    old = await _candidates(placement, "resources=VCPU:1,MEMORY_MB:512", version="placement 1.28")
    assert all(len(s) == 1 for s in _sets(old))


async def test_sharing_provider_serves_trees_in_its_aggregate(placement: Placement) -> None:
    agg = new_uuid()
    cn1 = await placement.provider("cn1", inventory={"VCPU": {"total": 8}, "DISK_GB": {"total": 100}},
                                   aggregates=[agg])
    cn2 = await placement.provider("cn2", inventory={"VCPU": {"total": 8}, "DISK_GB": {"total": 100}})
    ss = await placement.provider("shared-disk", inventory={"DISK_GB": {"total": 1000}},
                                  traits=["MISC_SHARES_VIA_AGGREGATE"], aggregates=[agg])
    sets = _sets(await _candidates(placement, "resources=VCPU:1,DISK_GB:50"))
    assert len(sets) == 3
    assert {cn1: {"DISK_GB": 50, "VCPU": 1}} in sets and {cn2: {"DISK_GB": 50, "VCPU": 1}} in sets
    assert {cn1: {"VCPU": 1}, ss: {"DISK_GB": 50}} in sets
    big = _sets(await _candidates(placement, "resources=VCPU:1,DISK_GB:500"))
    assert big == [{cn1: {"VCPU": 1}, ss: {"DISK_GB": 500}}]


async def test_granular_groups_isolate_and_same_subtree(placement: Placement) -> None:
    cn = await placement.provider("cn")
    numa0 = await placement.provider("numa0", parent=cn, inventory={"VCPU": {"total": 4}},
                                     traits=["HW_NUMA_ROOT"])
    numa1 = await placement.provider("numa1", parent=cn, inventory={"VCPU": {"total": 4}},
                                     traits=["HW_NUMA_ROOT"])
    fpga0 = await placement.provider("fpga0", parent=numa0, inventory={"FPGA": {"total": 1}})
    fpga1 = await placement.provider("fpga1", parent=numa1, inventory={"FPGA": {"total": 1}})
    isolated = _sets(await _candidates(
        placement, "resources1=VCPU:3&resources2=VCPU:3&group_policy=isolate"))
    assert sorted(map(sorted, isolated)) == sorted([sorted({numa0: {}, numa1: {}})] * 2)
    shared = _sets(await _candidates(placement, "resources1=VCPU:2&resources2=VCPU:2&group_policy=none"))
    assert {numa0: {"VCPU": 4}} in shared
    affined = await _candidates(
        placement, "resources_CPU=VCPU:1&resources_ACC=FPGA:1&group_policy=none"
                   "&same_subtree=_CPU,_ACC")
    assert _sets(affined) == [{numa0: {"VCPU": 1}, fpga0: {"FPGA": 1}},
                              {numa1: {"VCPU": 1}, fpga1: {"FPGA": 1}}]
    assert affined["allocation_requests"][0]["mappings"] == {"_CPU": [numa0], "_ACC": [fpga0]}
    resourceless = await _candidates(
        placement, "required_NUMA=HW_NUMA_ROOT&resources_ACC=FPGA:1&group_policy=none"
                   "&same_subtree=_NUMA,_ACC")
    assert _sets(resourceless) == [{fpga0: {"FPGA": 1}}, {fpga1: {"FPGA": 1}}]
    assert resourceless["allocation_requests"][0]["mappings"]["_NUMA"] == [numa0]
    in_tree = _sets(await _candidates(placement, f"resources=VCPU:1&in_tree={fpga1}"))
    assert in_tree == [{numa0: {"VCPU": 1}}, {numa1: {"VCPU": 1}}]


async def test_root_required(placement: Placement) -> None:
    win = await placement.provider(inventory={"VCPU": {"total": 2}},
                                   traits=["CUSTOM_WINDOWS_LICENSED"])
    plain = await placement.provider(inventory={"VCPU": {"total": 2}})
    assert _sets(await _candidates(placement, "resources=VCPU:1&root_required=!CUSTOM_WINDOWS_LICENSED")) \
        == [{plain: {"VCPU": 1}}]
    assert _sets(await _candidates(placement, "resources=VCPU:1&root_required=CUSTOM_WINDOWS_LICENSED")) \
        == [{win: {"VCPU": 1}}]


async def test_bad_queries_are_400(placement: Placement) -> None:
    await placement.provider(inventory={"VCPU": {"total": 2}})
    for query, version in (("", None), ("resources=VCPU:0", None), ("resources=VCPU", None),
                           ("resources=CUSTOM_NOPE:1", None), ("resources=VCPU:1&required=CUSTOM_NOPE", None),
                           ("resources=VCPU:1&limit=0", None), ("resources=VCPU:1&bogus=1", None),
                           ("resources1=VCPU:1&resources2=VCPU:1", None),
                           ("resources=VCPU:1&group_policy=maybe", None),
                           ("resources=VCPU:1&required_X=HW_NUMA_ROOT", None),
                           ("resources=VCPU:1&same_subtree=_NOPE", None),
                           ("resources=VCPU:1&required=A,!A", None),
                           ("resources=VCPU:1&member_of=nope", None),
                           ("resources=VCPU:1&root_required=A&root_required=B", None),
                           ("resources1=VCPU:1", "placement 1.24"),
                           ("resources=VCPU:1&limit=1", "placement 1.15"),
                           ("resources=VCPU:1&required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE", "placement 1.38")):
        resp = await placement.get(f"/allocation_candidates?{query}", version=version)
        assert resp.status_code == 400, (query, version, resp.text)
