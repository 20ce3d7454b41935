"""Traits: standard ones (os-traits, read-only), custom ones, and each provider's set."""

from __future__ import annotations

import dataclasses

from sqlalchemy import delete, exists, select

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.placement import errors, standard
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import CustomTraitRow, ProviderTraitRow
from nimbus.placement.service.common import (
    Provider,
    bump_generation,
    provider_by_uuid,
    unknown_traits,
)


@dataclasses.dataclass(frozen=True)
class TraitFilter:
    names: frozenset[str] | None = None   # name=in:A,B
    prefix: str | None = None             # name=startswith:CUSTOM
    associated: bool | None = None


async def list_traits(deps: PlacementDeps, ctx: RequestContext, flt: TraitFilter) -> list[str]:
    deps.authorize(ctx, "traits:list")
    async with deps.read() as session:
        custom = list((await session.execute(select(CustomTraitRow.name).order_by(
            CustomTraitRow.name))).scalars())
        names = [*standard.TRAITS, *custom]
        if flt.associated is not None:
            used = set((await session.execute(select(ProviderTraitRow.trait).distinct())).scalars())
            names = [n for n in names if (n in used) == flt.associated]
    if flt.names is not None:
        names = [n for n in names if n in flt.names]
    if flt.prefix is not None:
        names = [n for n in names if n.startswith(flt.prefix)]
    return names


async def trait_exists(deps: PlacementDeps, ctx: RequestContext, name: str) -> None:
    deps.authorize(ctx, "traits:show")
    async with deps.read() as session:
        if await unknown_traits(session, [name]):
            raise errors.TraitNotFound(name=name)


async def ensure_trait(deps: PlacementDeps, ctx: RequestContext, name: str) -> bool:
    """Create a custom trait if missing; True if this call created it."""
    deps.authorize(ctx, "traits:update")
    if not standard.is_custom_name(name):
        raise errors.InvalidInput(
            detail='The trait is invalid. A valid trait must be no longer than 255 characters, '
                   'start with the prefix "CUSTOM_" and use following characters: "A"-"Z", '
                   '"0"-"9" and "_"')
    try:
        async with deps.write() as session:
            if await session.scalar(select(exists().where(CustomTraitRow.name == name))):
                return False
            session.add(CustomTraitRow(name=name))
            return True
    except core_errors.Conflict as exc:
        if type(exc) is not core_errors.Conflict:
            raise
        return False


async def delete_trait(deps: PlacementDeps, ctx: RequestContext, name: str) -> None:
    deps.authorize(ctx, "traits:delete")
    if standard.is_standard_trait(name):
        raise errors.InvalidInput(detail=f"Cannot delete standard trait {name}.")
    async with deps.write() as session:
        row = (await session.execute(select(CustomTraitRow).where(
            CustomTraitRow.name == name))).scalar_one_or_none()
        if row is None:
            raise errors.TraitNotFound(name=name)
        if await session.scalar(select(exists().where(ProviderTraitRow.trait == name))):
            raise errors.InUse(detail=f"The trait {name} is in use by a resource provider.")
        await session.delete(row)


async def provider_traits(deps: PlacementDeps, ctx: RequestContext,
                          uuid: str) -> tuple[Provider, list[str]]:
    deps.authorize(ctx, "resource_providers:traits:list")
    async with deps.read() as session:
        provider = await provider_by_uuid(session, uuid)
        traits = (await session.execute(select(ProviderTraitRow.trait).where(
            ProviderTraitRow.provider_id == provider.id).order_by(ProviderTraitRow.trait))).scalars()
        return provider, list(traits)


async def set_provider_traits(deps: PlacementDeps, ctx: RequestContext, uuid: str,
                              generation: int | None, traits: list[str]) -> tuple[int, list[str]]:
    """Replace the provider's traits; `generation` None (DELETE) skips the caller's check but
    still swaps the generation."""
    rule = "resource_providers:traits:update" if generation is not None else \
        "resource_providers:traits:delete"
    deps.authorize(ctx, rule)
    wanted = sorted(set(traits))
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        if generation is not None and provider.generation != generation:
            raise errors.ConcurrentUpdate(
                detail="Resource provider's generation already changed. Please update the "
                       "generation and try again.")
        missing = await unknown_traits(session, wanted)
        if missing:
            raise errors.InvalidInput(detail=f"No such trait {', '.join(missing)}")
        await session.execute(delete(ProviderTraitRow).where(
            ProviderTraitRow.provider_id == provider.id))
        session.add_all(ProviderTraitRow(provider_id=provider.id, trait=t) for t in wanted)
        await session.flush()
        new_generation = await bump_generation(session, provider.id, provider.generation,
                                               conflict=errors.ConcurrentUpdate)
        return new_generation, wanted
