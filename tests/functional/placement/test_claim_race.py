"""Concurrent claims never overcommit: each is a compare-and-swap on provider generations."""

from __future__ import annotations

import asyncio

import httpx

from tests.functional.conftest import Cloud
from tests.functional.placement.helpers import Placement, new_uuid, usage_drift

CLAIMS = 30


async def _claim_until_decided(placement: Placement, compute: str, memory: str) -> httpx.Response:
    """PUT a new consumer's allocations; replay on concurrent_update, as the scheduler does."""
    consumer = new_uuid()
    for _ in range(20):
        resp = await placement.claim(consumer, {compute: {"VCPU": 1}, memory: {"MEMORY_MB": 100}})
        if resp.status_code != 409 or "concurrent_update" not in resp.text:
            return resp
    return resp


async def test_racing_claims_fill_exactly_to_capacity(cloud: Cloud, placement: Placement) -> None:
    # Memory allows 10 claims, VCPU 15: the memory provider decides.
    compute = await placement.provider(inventory={"VCPU": {"total": 15}})
    memory = await placement.provider(inventory={"MEMORY_MB": {"total": 1000}})
    results = await asyncio.gather(*(_claim_until_decided(placement, compute, memory)
                                     for _ in range(CLAIMS)))
    statuses = sorted(r.status_code for r in results)
    assert all(s in (204, 409) for s in statuses), [r.text for r in results if r.status_code >= 500]
    won = statuses.count(204)
    assert won == 10, statuses
    losers = [r.json()["errors"][0] for r in results if r.status_code == 409]
    assert all("capacity" in e["detail"] for e in losers), losers
    usage = (await placement.get(f"/resource_providers/{memory}/usages")).json()["usages"]
    assert usage == {"MEMORY_MB": 1000}
    usage = (await placement.get(f"/resource_providers/{compute}/usages")).json()["usages"]
    assert usage == {"VCPU": 10}
    # Every success swapped both generations once, and nothing else did.
    for rp in (compute, memory):
        shown = (await placement.get(f"/resource_providers/{rp}")).json()
        assert shown["generation"] == 1 + won
    assert await usage_drift(cloud) == []


async def test_racing_claims_without_replay_never_overcommit(placement: Placement) -> None:
    rp = await placement.provider(inventory={"VCPU": {"total": 5}})
    results = await asyncio.gather(*(placement.claim(new_uuid(), {rp: {"VCPU": 1}})
                                     for _ in range(CLAIMS)))
    won = sum(r.status_code == 204 for r in results)
    assert all(r.status_code in (204, 409) for r in results)
    assert 1 <= won <= 5
    usage = (await placement.get(f"/resource_providers/{rp}/usages")).json()["usages"]
    assert usage == {"VCPU": won}


async def test_racing_claims_moves_and_deletes_keep_usage_exact(cloud: Cloud,
                                                               placement: Placement) -> None:
    """Deletes swap no generation: the usage each inventory keeps must still end exact."""
    source = await placement.provider(inventory={"VCPU": {"total": 100}})
    target = await placement.provider(inventory={"VCPU": {"total": 100}})
    consumers = [new_uuid() for _ in range(CLAIMS)]
    for consumer in consumers:
        assert (await placement.claim(consumer, {source: {"VCPU": 2}})).status_code == 204

    async def replayed(consumer: str, allocations: dict[str, dict[str, int]],
                       generation: int | None) -> httpx.Response:
        for _ in range(20):
            resp = await placement.claim(consumer, allocations, generation=generation)
            if resp.status_code != 409 or "concurrent_update" not in resp.text:
                return resp
        return resp

    third = CLAIMS // 3
    results = await asyncio.gather(
        *(placement.delete(f"/allocations/{c}") for c in consumers[:third]),
        *(replayed(c, {target: {"VCPU": 3}}, 1) for c in consumers[third:2 * third]),
        *(replayed(new_uuid(), {source: {"VCPU": 1}, target: {"VCPU": 1}}, None)
          for _ in range(third)))
    assert all(r.status_code == 204 for r in results), [r.text for r in results]
    for rp, expected in ((source, 2 * third + third), (target, 3 * third + third)):
        usage = (await placement.get(f"/resource_providers/{rp}/usages")).json()["usages"]
        assert usage == {"VCPU": expected}
    assert await usage_drift(cloud) == []
