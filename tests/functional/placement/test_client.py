"""The REST client compute uses (nimbus.core.clients.placement) against the real service."""

from __future__ import annotations

import asyncio

from nimbus.core.clients.placement import Inventory, PlacementClient
from tests.functional.conftest import BASE_URL, Cloud
from tests.functional.placement.helpers import Placement, new_uuid


async def _client(cloud: Cloud) -> PlacementClient:
    token = await cloud.token()

    async def current() -> str:
        return token

    return PlacementClient(cloud.client, f"{BASE_URL}/placement", current)


async def test_resource_tracker_and_scheduler_calls(cloud: Cloud, placement: Placement) -> None:
    client = await _client(cloud)
    node = new_uuid()
    await client.ensure_provider(node, "node-a")
    await client.ensure_provider(node, "node-a")   # idempotent
    await client.set_inventory(node, {"VCPU": Inventory(total=4, allocation_ratio=2.0),
                                      "MEMORY_MB": Inventory(total=2048, reserved=512)})
    await client.set_inventory(node, {"VCPU": Inventory(total=4, allocation_ratio=2.0),
                                      "MEMORY_MB": Inventory(total=2048, reserved=512)})
    found = await client.allocation_candidates({"VCPU": 2, "MEMORY_MB": 512})
    assert [c.provider_uuid for c in found] == [node]
    assert found[0].capacity == {"VCPU": 8, "MEMORY_MB": 1536}
    instance = new_uuid()
    assert await client.claim(instance, node, {"VCPU": 2, "MEMORY_MB": 512}, "p", "u")
    assert await client.usages(node) == {"VCPU": 2, "MEMORY_MB": 512}
    assert not await client.claim(new_uuid(), node, {"MEMORY_MB": 1536}, "p", "u")

    migration = new_uuid()
    assert await client.move_allocations(instance, migration)
    assert (await placement.get(f"/allocations/{instance}")).json() == {"allocations": {}}
    moved = (await placement.get(f"/allocations/{migration}")).json()
    assert moved["allocations"][node]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    assert not await client.move_allocations(instance, migration)

    await client.delete_allocations(migration)
    await client.delete_allocations(migration)     # idempotent
    assert await client.usages(node) == {"VCPU": 0, "MEMORY_MB": 0}
    await client.delete_provider(node)
    await client.delete_provider(node)


async def test_concurrent_client_claims_fill_exactly(cloud: Cloud) -> None:
    client = await _client(cloud)
    node = new_uuid()
    await client.ensure_provider(node, "node-race")
    await client.set_inventory(node, {"VCPU": Inventory(total=6)})
    won = await asyncio.gather(*(client.claim(new_uuid(), node, {"VCPU": 1}, "p", "u")
                                 for _ in range(20)))
    assert sum(won) == 6
    assert await client.usages(node) == {"VCPU": 6}
