"""Allocations: what consumers hold on providers, replaced atomically per request.

A write is one transaction that reads each involved provider's generation together with its
inventory and usage (one statement, one snapshot), checks capacity, swaps every involved
provider's generation from the value it read (`UPDATE ... WHERE generation = :read`), and only
then rewrites the allocations. A concurrent claim that committed in between moved a generation,
so ours updates no row and the whole transaction is replayed on fresh data: two claims can
never both pass a capacity check against the same usage, on any backend.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.placement import errors, standard
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import AllocationRow, ConsumerRow, InventoryRow, ProviderRow
from nimbus.placement.service.common import GenerationConflict, bump_generation, with_retries


@dataclasses.dataclass(frozen=True)
class ConsumerClaim:
    """The whole wanted state of one consumer's allocations (empty: remove them all)."""

    consumer: str
    allocations: dict[str, dict[str, int]]     # provider uuid -> resource class -> amount
    project_id: str | None = None
    user_id: str | None = None
    # Checked only when the request's microversion has consumer generations (1.28).
    generation: int | None = None
    consumer_type: str | None = None


@dataclasses.dataclass(frozen=True)
class Held:
    """One consumer's allocations as stored."""

    consumer: str
    project_id: str
    user_id: str
    generation: int
    consumer_type: str | None
    # provider uuid -> (provider generation, {resource class: amount})
    by_provider: dict[str, tuple[int, dict[str, int]]]


class _Stock(NamedTuple):
    """One inventory of a provider, as a claim checks it."""

    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float


@dataclasses.dataclass
class _Capacity:
    provider_id: int
    generation: int
    # resource class -> (inventory, used now)
    classes: dict[str, tuple[_Stock, int]]


# A claim's statements are built once, as Core statements on the tables with bound
# parameters: a boot claims once, and building ORM statements anew (coercions, cache key,
# ORM compile state) cost more than the database work they do.
_CONSUMERS = cast(Table, ConsumerRow.__table__)
_ALLOCATIONS = cast(Table, AllocationRow.__table__)
_PROVIDERS = cast(Table, ProviderRow.__table__)
_INVENTORIES = cast(Table, InventoryRow.__table__)

_CONSUMER_GENERATIONS = select(_CONSUMERS.c.uuid, _CONSUMERS.c.generation).where(
    _CONSUMERS.c.uuid.in_(bindparam("consumers", expanding=True)))

_HELD = (select(_PROVIDERS.c.uuid, _ALLOCATIONS.c.resource_class, _ALLOCATIONS.c.used)
         .join(_PROVIDERS, _PROVIDERS.c.id == _ALLOCATIONS.c.provider_id)
         .where(_ALLOCATIONS.c.consumer_id.in_(bindparam("consumers", expanding=True))))

# What was deleted comes back with the delete, so the usage kept on inventories drops by
# exactly the rows that went, whatever ran in between.
_DROP_HELD = (delete(_ALLOCATIONS)
              .where(_ALLOCATIONS.c.consumer_id.in_(bindparam("consumers", expanding=True)))
              .returning(_ALLOCATIONS.c.provider_id, _ALLOCATIONS.c.resource_class,
                         _ALLOCATIONS.c.used))
# A relative change, so that writers to one inventory need not have read the same `used`.
# Its `updated_at` says when the inventory itself last changed, so it stays.
_ADD_USED = (update(_INVENTORIES)
             .where(_INVENTORIES.c.provider_id == bindparam("provider"),
                    _INVENTORIES.c.resource_class == bindparam("class_"))
             .values(used=_INVENTORIES.c.used + bindparam("delta"),
                     updated_at=_INVENTORIES.c.updated_at))

# Generation, inventories and usage of providers in one statement (one snapshot), so that
# the generation a claim later swaps from vouches for the usage it checked.
_CAPACITY = (select(_PROVIDERS.c.id, _PROVIDERS.c.uuid, _PROVIDERS.c.generation,
                    _INVENTORIES.c.resource_class, _INVENTORIES.c.total,
                    _INVENTORIES.c.reserved, _INVENTORIES.c.min_unit, _INVENTORIES.c.max_unit,
                    _INVENTORIES.c.step_size, _INVENTORIES.c.allocation_ratio,
                    _INVENTORIES.c.used)
             .outerjoin(_INVENTORIES, _INVENTORIES.c.provider_id == _PROVIDERS.c.id)
             .where(_PROVIDERS.c.uuid.in_(bindparam("providers", expanding=True))))

_ADD_CONSUMER = insert(_CONSUMERS)
_ADD_ALLOCATIONS = insert(_ALLOCATIONS)


async def consumer_allocations(deps: PlacementDeps, ctx: RequestContext, consumer: str) -> Held | None:
    deps.authorize(ctx, "allocations:list")
    async with deps.read() as session:
        return await _held(session, consumer)


async def _held(session: AsyncSession, consumer: str) -> Held | None:
    row = await session.get(ConsumerRow, consumer)
    if row is None:
        return None
    stmt = (select(ProviderRow.uuid, ProviderRow.generation, AllocationRow.resource_class,
                   AllocationRow.used)
            .join(ProviderRow, ProviderRow.id == AllocationRow.provider_id)
            .where(AllocationRow.consumer_id == consumer).order_by(AllocationRow.id))
    by_provider: dict[str, tuple[int, dict[str, int]]] = {}
    for uuid, generation, rc, used in (await session.execute(stmt)).all():
        by_provider.setdefault(uuid, (generation, {}))[1][rc] = used
    if not by_provider:
        return None
    return Held(row.uuid, row.project_id, row.user_id, row.generation, row.consumer_type,
                by_provider)


async def provider_allocations(deps: PlacementDeps, ctx: RequestContext,
                               provider_id: int) -> dict[str, tuple[int, dict[str, int]]]:
    """consumer uuid -> (consumer generation, {resource class: amount}) on one provider."""
    deps.authorize(ctx, "resource_providers:allocations:list")
    async with deps.read() as session:
        stmt = (select(AllocationRow.consumer_id, ConsumerRow.generation,
                       AllocationRow.resource_class, AllocationRow.used)
                .join(ConsumerRow, ConsumerRow.uuid == AllocationRow.consumer_id)
                .where(AllocationRow.provider_id == provider_id).order_by(AllocationRow.id))
        found: dict[str, tuple[int, dict[str, int]]] = {}
        for consumer, generation, rc, used in (await session.execute(stmt)).all():
            found.setdefault(consumer, (generation, {}))[1][rc] = used
        return found


async def replace_allocations(deps: PlacementDeps, ctx: RequestContext,
                              claims: list[ConsumerClaim], *, check_consumer_generation: bool,
                              rule: str = "allocations:update") -> None:
    """Make each consumer's allocations exactly as claimed, all or nothing.

    409 (no code) when a provider lacks inventory or capacity, or a unit rule is broken;
    409 placement.concurrent_update on a consumer generation mismatch, or when provider
    generations kept moving for every replay.
    """
    deps.authorize(ctx, rule)

    async def attempt() -> None:
        async with deps.write() as session:
            await write_claims(session, claims, check_consumer_generation=check_consumer_generation)

    await with_retries(deps.allocation_conflict_retries, attempt)


async def write_claims(session: AsyncSession, claims: list[ConsumerClaim], *,
                       check_consumer_generation: bool) -> None:
    """The body of one allocation transaction (reshaper reuses it after changing inventories)."""
    consumers = {c.consumer: c for c in claims}
    existing: dict[str, int] = dict((await session.execute(  # uuid -> generation
        _CONSUMER_GENERATIONS, {"consumers": list(consumers)})).all())
    if check_consumer_generation:
        for claim in claims:
            _check_consumer_generation(claim, existing.get(claim.consumer))
    # Allocations belong to a consumer row (a foreign key): a new consumer holds nothing yet,
    # and two claims creating the same one collide on its key, so one of them is replayed.
    held = [c for c in consumers if c in existing]
    old = await _current_allocations(session, held)
    wanted_uuids = {p for c in claims for p in c.allocations}
    capacity = await _capacity(session, wanted_uuids | {uuid for uuid, _, _ in old})
    unknown = sorted(wanted_uuids - set(capacity))
    if unknown:
        raise errors.InvalidInput(
            detail=f"Allocation for resource provider '{unknown[0]}' that does not exist.")
    _check_fits(claims, old, capacity)
    # Swap generations in id order, so that two writers lock rows in the same order.
    for uuid in sorted(set(capacity), key=lambda u: capacity[u].provider_id):
        await bump_generation(session, capacity[uuid].provider_id, capacity[uuid].generation,
                              conflict=GenerationConflict)
    change = await _drop_held(session, held) if held else collections.Counter()
    for claim in claims:
        await _save_consumer(session, claim, existing.get(claim.consumer))
    rows = []
    for claim in claims:
        for uuid, resources in claim.allocations.items():
            provider_id = capacity[uuid].provider_id
            for rc, amount in resources.items():
                rows.append({"provider_id": provider_id, "consumer_id": claim.consumer,
                             "resource_class": rc, "used": amount})
                change[(provider_id, rc)] += amount
    if rows:
        await session.execute(_ADD_ALLOCATIONS, rows)
    await _add_used(session, change)


async def _drop_held(session: AsyncSession,
                     consumers: list[str]) -> collections.Counter[tuple[int, str]]:
    """Delete what the consumers hold; what that takes off each (provider id, class), a key
    for every row deleted (empty when they held nothing)."""
    change: collections.Counter[tuple[int, str]] = collections.Counter()
    for provider_id, rc, amount in (await session.execute(
            _DROP_HELD, {"consumers": consumers})).all():
        change[(provider_id, rc)] -= amount
    return change


async def _add_used(session: AsyncSession, change: collections.Counter[tuple[int, str]]) -> None:
    """Keep each inventory's `used` in step with its allocations; in (provider, class) order,
    so that two writers take the rows' locks in the same order."""
    params = [{"provider": provider_id, "class_": rc, "delta": delta}
              for (provider_id, rc), delta in sorted(change.items()) if delta]
    if params:
        await session.execute(_ADD_USED, params)


def _check_consumer_generation(claim: ConsumerClaim, actual: int | None) -> None:
    if actual != claim.generation:
        expected = "null" if actual is None else actual
        got = "null" if claim.generation is None else claim.generation
        raise errors.ConcurrentUpdate(
            detail=f"consumer generation conflict - expected {expected} but got {got}")


async def _current_allocations(session: AsyncSession,
                               consumers: list[str]) -> list[tuple[str, str, int]]:
    """(provider uuid, resource class, amount) of everything these consumers hold now."""
    if not consumers:
        return []
    return list((await session.execute(_HELD, {"consumers": consumers})).all())


async def _capacity(session: AsyncSession, uuids: Iterable[str]) -> dict[str, _Capacity]:
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    found: dict[str, _Capacity] = {}
    for pid, uuid, generation, rc, *stock, in_use in (
            await session.execute(_CAPACITY, {"providers": wanted})).all():
        entry = found.setdefault(uuid, _Capacity(pid, generation, {}))
        if rc is not None:
            entry.classes[rc] = (_Stock(*stock), int(in_use or 0))
    return found


def _check_fits(claims: list[ConsumerClaim], old: list[tuple[str, str, int]],
                capacity: dict[str, _Capacity]) -> None:
    """Every amount respects its inventory's units, and no provider ends over capacity
    unless it already was and this request makes it no worse (Placement's rule)."""
    freed: collections.Counter[tuple[str, str]] = collections.Counter()
    for uuid, rc, amount in old:
        freed[(uuid, rc)] += amount
    taken: collections.Counter[tuple[str, str]] = collections.Counter()
    for claim in claims:
        for uuid, resources in claim.allocations.items():
            for rc, amount in resources.items():
                inventory = capacity[uuid].classes.get(rc)
                if inventory is None:
                    raise errors.CapacityExceeded(
                        detail=f"Inventory for '{rc}' on resource provider '{uuid}' invalid.")
                inv = inventory[0]
                if amount < inv.min_unit or amount > inv.max_unit or amount % inv.step_size:
                    raise errors.CapacityExceeded(
                        detail=f"Unable to create allocation for '{rc}' on resource provider "
                               f"'{uuid}'. The requested amount would violate inventory "
                               f"constraints.")
                taken[(uuid, rc)] += amount
    for (uuid, rc), amount in taken.items():
        inv, used_now = capacity[uuid].classes[rc]
        limit = int((inv.total - inv.reserved) * inv.allocation_ratio)
        after = used_now - freed[(uuid, rc)] + amount
        if after > limit and after > used_now:
            raise errors.CapacityExceeded(
                detail=f"Unable to create allocation for '{rc}' on resource provider '{uuid}'. "
                       f"The requested amount would exceed the capacity.")


async def _save_consumer(session: AsyncSession, claim: ConsumerClaim,
                         generation: int | None) -> None:
    """Create, update (swapping its generation) or, with nothing left to hold, delete it."""
    holds = any(claim.allocations.values())
    project = claim.project_id or standard.INCOMPLETE_CONSUMER_ID
    user = claim.user_id or standard.INCOMPLETE_CONSUMER_ID
    if generation is None:
        if holds:
            await session.execute(_ADD_CONSUMER, {
                "uuid": claim.consumer, "project_id": project, "user_id": user,
                "consumer_type": claim.consumer_type, "generation": 1})
        return
    if not holds:
        result = await session.execute(delete(ConsumerRow).where(
            ConsumerRow.uuid == claim.consumer, ConsumerRow.generation == generation)
            .execution_options(synchronize_session=False))
    else:
        values: dict[str, object] = {"generation": generation + 1}
        if claim.project_id is not None:
            values.update(project_id=project, user_id=user)
        if claim.consumer_type is not None:
            values["consumer_type"] = claim.consumer_type
        result = await session.execute(update(ConsumerRow).where(
            ConsumerRow.uuid == claim.consumer, ConsumerRow.generation == generation)
            .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.ConcurrentUpdate(
            detail=f"consumer generation conflict - consumer {claim.consumer} was changed by "
                   "another request")


async def delete_consumer_allocations(deps: PlacementDeps, ctx: RequestContext, consumer: str) -> None:
    """DELETE /allocations/{consumer}: 404 if it holds nothing."""
    deps.authorize(ctx, "allocations:delete")
    async with deps.write() as session:
        change = await _drop_held(session, [consumer])
        if not change:
            raise errors.AllocationsNotFound(consumer=consumer)
        await _add_used(session, change)
        await session.execute(delete(ConsumerRow).where(ConsumerRow.uuid == consumer)
                              .execution_options(synchronize_session=False))

