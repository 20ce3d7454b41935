"""Provider aggregates: groups of providers, named by UUID, created on first mention."""

from __future__ import annotations

from sqlalchemy import delete, select

from nimbus.core.context import RequestContext
from nimbus.placement import errors
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import ProviderAggregateRow
from nimbus.placement.service.common import Provider, bump_generation, provider_by_uuid


async def provider_aggregates(deps: PlacementDeps, ctx: RequestContext,
                              uuid: str) -> tuple[Provider, list[str]]:
    deps.authorize(ctx, "resource_providers:aggregates:list")
    async with deps.read() as session:
        provider = await provider_by_uuid(session, uuid)
        aggregates = (await session.execute(select(ProviderAggregateRow.aggregate).where(
            ProviderAggregateRow.provider_id == provider.id)
            .order_by(ProviderAggregateRow.aggregate))).scalars()
        return provider, list(aggregates)


async def set_provider_aggregates(deps: PlacementDeps, ctx: RequestContext, uuid: str,
                                  aggregates: list[str], generation: int | None) -> tuple[int, list[str]]:
    """Replace the provider's aggregates. From 1.19 the caller's `generation` is checked and the
    provider's swapped; before, neither (Placement's behaviour)."""
    deps.authorize(ctx, "resource_providers:aggregates:update")
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        if generation is not None and provider.generation != generation:
            raise errors.ConcurrentUpdate(
                detail="Resource provider's generation already changed. Please update the "
                       "generation and try again.")
        await session.execute(delete(ProviderAggregateRow).where(
            ProviderAggregateRow.provider_id == provider.id))
        session.add_all(ProviderAggregateRow(provider_id=provider.id, aggregate=a)
                        for a in dict.fromkeys(aggregates))
        await session.flush()
        new_generation = provider.generation
        if generation is not None:
            new_generation = await bump_generation(session, provider.id, provider.generation,
                                                   conflict=errors.ConcurrentUpdate)
        return new_generation, list(aggregates)
