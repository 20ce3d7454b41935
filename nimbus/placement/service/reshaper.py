"""POST /reshaper: move inventory and the allocations on it between providers, atomically."""

from __future__ import annotations

from sqlalchemy import select

from nimbus.core.context import RequestContext
from nimbus.placement import errors
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import AllocationRow
from nimbus.placement.service.allocations import ConsumerClaim, write_claims
from nimbus.placement.service.common import bump_generation, provider_by_uuid, with_retries
from nimbus.placement.service.inventories import InventorySpec, apply_inventories, check_capacity


async def reshape(deps: PlacementDeps, ctx: RequestContext,
                  inventories: dict[str, tuple[int, dict[str, InventorySpec]]],
                  claims: list[ConsumerClaim], *, reserved_may_equal_total: bool) -> None:
    """Set every listed provider's inventory (checking the given generations), then every
    listed consumer's allocations; a class may disappear only once nothing is allocated from it."""
    deps.authorize(ctx, "reshaper:reshape")
    for uuid, (_, specs) in inventories.items():
        check_capacity(uuid, specs, reserved_may_equal_total)

    async def attempt() -> None:
        async with deps.write() as session:
            providers = []
            for uuid, (generation, specs) in inventories.items():
                try:
                    provider = await provider_by_uuid(session, uuid)
                except errors.ProviderNotFound as exc:
                    raise errors.ProviderNotFoundInRequest(uuid=uuid, where="inventories") from exc
                if provider.generation != generation:
                    raise errors.ConcurrentUpdate(
                        detail=f"resource provider generation conflict for provider {uuid}: "
                               f"actual: {provider.generation}, given: {generation}")
                await apply_inventories(session, provider, specs, check_in_use=False)
                await bump_generation(session, provider.id, generation,
                                      conflict=errors.ConcurrentUpdate)
                providers.append((provider, set(specs)))
            await write_claims(session, claims, check_consumer_generation=True)
            for provider, kept in providers:
                left = sorted(set((await session.execute(
                    select(AllocationRow.resource_class).where(
                        AllocationRow.provider_id == provider.id))).scalars()) - kept)
                if left:
                    raise errors.InventoryInUse(resource_classes=", ".join(left), uuid=provider.uuid)

    await with_retries(deps.allocation_conflict_retries, attempt)
