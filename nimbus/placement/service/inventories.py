"""Inventories: what a provider offers of each resource class, and the rules of taking it.

Every write compares-and-swaps the provider generation; shrinking below what is in use
is allowed (Placement warns), removing a class that has allocations is not.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.placement import errors
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import AllocationRow, InventoryRow
from nimbus.placement.service.common import (
    Provider,
    bump_generation,
    provider_by_uuid,
    unknown_resource_classes,
)

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class InventorySpec:
    """An inventory as a client asks for it (defaults already applied)."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 2**31 - 1
    step_size: int = 1
    allocation_ratio: float = 1.0

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)


@dataclasses.dataclass(frozen=True)
class Inventory(InventorySpec):
    resource_class: str = ""
    updated_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: InventoryRow) -> Inventory:
        return cls(total=row.total, reserved=row.reserved, min_unit=row.min_unit,
                   max_unit=row.max_unit, step_size=row.step_size,
                   allocation_ratio=row.allocation_ratio, resource_class=row.resource_class,
                   updated_at=row.updated_at)


def check_capacity(uuid: str, specs: dict[str, InventorySpec], reserved_may_equal_total: bool) -> None:
    """Before 1.26 reserved must leave some capacity; from 1.26 it may take all of it."""
    for rc, spec in specs.items():
        bad = spec.capacity < 0 if reserved_may_equal_total else spec.capacity <= 0
        if bad:
            limit = "less than or equal to" if reserved_may_equal_total else "less than"
            raise errors.InvalidInput(
                detail=f"Unable to update inventory for resource provider {uuid}: Invalid "
                       f"inventory for '{rc}' on resource provider '{uuid}'. The reserved value "
                       f"must be {limit} the total value multiplied by the allocation ratio.")


async def _inventories(session: AsyncSession, provider_id: int) -> dict[str, InventoryRow]:
    rows = (await session.execute(select(InventoryRow).where(
        InventoryRow.provider_id == provider_id).order_by(InventoryRow.resource_class))).scalars()
    return {row.resource_class: row for row in rows}


async def get_inventories(deps: PlacementDeps, ctx: RequestContext,
                          uuid: str) -> tuple[Provider, list[Inventory]]:
    deps.authorize(ctx, "resource_providers:inventories:list")
    async with deps.read() as session:
        provider = await provider_by_uuid(session, uuid)
        rows = await _inventories(session, provider.id)
        return provider, [Inventory.from_row(r) for r in rows.values()]


async def get_inventory(deps: PlacementDeps, ctx: RequestContext, uuid: str,
                        resource_class: str) -> tuple[Provider, Inventory]:
    deps.authorize(ctx, "resource_providers:inventories:show")
    async with deps.read() as session:
        provider = await provider_by_uuid(session, uuid)
        row = (await _inventories(session, provider.id)).get(resource_class)
        if row is None:
            raise errors.InventoryNotFound(resource_class=resource_class, uuid=uuid)
        return provider, Inventory.from_row(row)


async def apply_inventories(session: AsyncSession, provider: Provider,
                            specs: dict[str, InventorySpec], *, check_in_use: bool = True) -> None:
    """Make the provider's inventory exactly `specs` (no generation handling)."""
    missing = await unknown_resource_classes(session, specs)
    if missing:
        raise errors.InvalidInput(
            detail=f"Unknown resource class in inventory for resource provider {provider.uuid}: "
                   f"No such resource class {missing[0]}.")
    existing = await _inventories(session, provider.id)
    removed = set(existing) - set(specs)
    if removed and check_in_use:
        await ensure_unused(session, provider, removed)
    if removed:
        await session.execute(delete(InventoryRow).where(
            InventoryRow.provider_id == provider.id, InventoryRow.resource_class.in_(removed)))
    for rc, spec in specs.items():
        row = existing.get(rc)
        if row is None:
            row = InventoryRow(provider_id=provider.id, resource_class=rc)
            session.add(row)
        for field in dataclasses.fields(InventorySpec):
            setattr(row, field.name, getattr(spec, field.name))
    await session.flush()


async def ensure_unused(session: AsyncSession, provider: Provider, classes: set[str]) -> None:
    in_use = sorted((await session.execute(
        select(AllocationRow.resource_class).where(
            AllocationRow.provider_id == provider.id, AllocationRow.resource_class.in_(classes))
        .group_by(AllocationRow.resource_class))).scalars())
    if in_use:
        raise errors.InventoryInUse(resource_classes=", ".join(in_use), uuid=provider.uuid)


async def set_inventories(deps: PlacementDeps, ctx: RequestContext, uuid: str, generation: int,
                          specs: dict[str, InventorySpec], *,
                          reserved_may_equal_total: bool) -> tuple[int, list[Inventory]]:
    """Replace the whole set; 409 placement.concurrent_update if `generation` is stale."""
    deps.authorize(ctx, "resource_providers:inventories:update")
    check_capacity(uuid, specs, reserved_may_equal_total)
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        _expect(provider, generation)
        await apply_inventories(session, provider, specs)
        new_generation = await bump_generation(session, provider.id, provider.generation,
                                               conflict=errors.ConcurrentUpdate)
        await _warn_over_capacity(session, provider, specs)
        rows = await _inventories(session, provider.id)
        return new_generation, [Inventory.from_row(r) for r in rows.values()]


async def update_inventory(deps: PlacementDeps, ctx: RequestContext, uuid: str, resource_class: str,
                           generation: int, spec: InventorySpec, *,
                           reserved_may_equal_total: bool) -> tuple[int, Inventory]:
    """Replace one existing class's inventory (400 if the provider has none of it)."""
    deps.authorize(ctx, "resource_providers:inventories:update")
    check_capacity(uuid, {resource_class: spec}, reserved_may_equal_total)
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        _expect(provider, generation)
        existing = await _inventories(session, provider.id)
        if resource_class not in existing:
            raise errors.InvalidInput(
                detail=f"No inventory record with resource class for resource provider {uuid}: "
                       f"No inventory of class {resource_class} found.")
        specs: dict[str, InventorySpec] = {rc: Inventory.from_row(r) for rc, r in existing.items()}
        specs[resource_class] = spec
        await apply_inventories(session, provider, specs)
        new_generation = await bump_generation(session, provider.id, provider.generation,
                                               conflict=errors.ConcurrentUpdate)
        await _warn_over_capacity(session, provider, {resource_class: spec})
        row = (await _inventories(session, provider.id))[resource_class]
        return new_generation, Inventory.from_row(row)


async def create_inventory(deps: PlacementDeps, ctx: RequestContext, uuid: str, resource_class: str,
                           spec: InventorySpec, *,
                           reserved_may_equal_total: bool) -> tuple[int, Inventory]:
    """POST one new class (409 if the provider already has it)."""
    deps.authorize(ctx, "resource_providers:inventories:create")
    check_capacity(uuid, {resource_class: spec}, reserved_may_equal_total)
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        existing = await _inventories(session, provider.id)
        if resource_class in existing:
            raise errors.ConcurrentUpdate(
                detail=f"Update conflict: Inventory for {resource_class} on resource provider "
                       f"{uuid} already exists.")
        specs: dict[str, InventorySpec] = {rc: Inventory.from_row(r) for rc, r in existing.items()}
        specs[resource_class] = spec
        try:
            await apply_inventories(session, provider, specs)
        except errors.InvalidInput as exc:
            raise errors.InvalidInput(detail=f"Unable to create inventory for resource provider "
                                             f"{uuid}: {exc.message}") from exc
        new_generation = await bump_generation(session, provider.id, provider.generation,
                                               conflict=errors.ConcurrentUpdate)
        row = (await _inventories(session, provider.id))[resource_class]
        return new_generation, Inventory.from_row(row)


async def delete_inventory(deps: PlacementDeps, ctx: RequestContext, uuid: str,
                           resource_class: str | None) -> None:
    """One class, or (None) all of them; refused for classes with allocations."""
    deps.authorize(ctx, "resource_providers:inventories:delete")
    async with deps.write() as session:
        provider = await provider_by_uuid(session, uuid)
        existing = await _inventories(session, provider.id)
        if resource_class is not None and resource_class not in existing:
            raise errors.InventoryNotFound(resource_class=resource_class, uuid=uuid)
        remaining: dict[str, InventorySpec] = {
            rc: Inventory.from_row(r) for rc, r in existing.items()
            if resource_class is not None and rc != resource_class}
        await apply_inventories(session, provider, remaining)
        await bump_generation(session, provider.id, provider.generation,
                              conflict=errors.ConcurrentUpdate)


def _expect(provider: Provider, generation: int) -> None:
    if provider.generation != generation:
        raise errors.ConcurrentUpdate(detail="resource provider generation conflict")


async def _warn_over_capacity(session: AsyncSession, provider: Provider,
                              specs: dict[str, InventorySpec]) -> None:
    used = dict((await session.execute(
        select(InventoryRow.resource_class, InventoryRow.used).where(
            InventoryRow.provider_id == provider.id, InventoryRow.resource_class.in_(specs)))).all())
    for rc, spec in specs.items():
        if used.get(rc, 0) > spec.capacity:
            LOG.warning("resource provider %s is now over capacity for %s", provider.uuid, rc)

