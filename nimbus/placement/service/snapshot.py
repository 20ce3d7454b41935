"""Everything allocation candidates look at, read in one go: providers, trees, inventories with
usage, traits and aggregates. Pure data, so the search in `candidates.py` needs no database."""

from __future__ import annotations

import dataclasses
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.placement import standard
from nimbus.placement.models import (
    AllocationRow,
    InventoryRow,
    ProviderAggregateRow,
    ProviderRow,
    ProviderTraitRow,
)


@dataclasses.dataclass(frozen=True)
class Stock:
    """One inventory as candidates need it."""

    capacity: int
    used: int
    min_unit: int
    max_unit: int
    step_size: int

    def can_take(self, amount: int) -> bool:
        return (self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0
                and self.used + amount <= self.capacity)


@dataclasses.dataclass(eq=False)
class Node:
    id: int
    uuid: str
    parent_id: int | None
    root_id: int
    stock: dict[str, Stock] = dataclasses.field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()

    @property
    def shares(self) -> bool:
        return standard.SHARES_VIA_AGGREGATE in self.traits


@dataclasses.dataclass
class Snapshot:
    nodes: dict[int, Node]
    by_uuid: dict[str, Node]

    def tree(self, root_id: int) -> list[Node]:
        return [n for n in self.nodes.values() if n.root_id == root_id]

    def ancestors(self, node: Node) -> list[int]:
        """The node's id and every id above it."""
        found = [node.id]
        while node.parent_id is not None and node.parent_id in self.nodes:
            node = self.nodes[node.parent_id]
            found.append(node.id)
        return found


# Built once, on the tables: every boot's scheduling reads a snapshot, and building the ORM
# statements and loading an ORM object per inventory cost more than the database work.
_PROVIDERS = cast(Table, ProviderRow.__table__)
_ALLOCATIONS = cast(Table, AllocationRow.__table__)
_INVENTORIES = cast(Table, InventoryRow.__table__)
_TRAITS = cast(Table, ProviderTraitRow.__table__)
_AGGREGATES = cast(Table, ProviderAggregateRow.__table__)
_ALL_PROVIDERS = select(_PROVIDERS.c.id, _PROVIDERS.c.uuid, _PROVIDERS.c.parent_id,
                        _PROVIDERS.c.root_id).order_by(_PROVIDERS.c.id)
_ALL_USAGE = select(_ALLOCATIONS.c.provider_id, _ALLOCATIONS.c.resource_class,
                    func.sum(_ALLOCATIONS.c.used)).group_by(_ALLOCATIONS.c.provider_id,
                                                            _ALLOCATIONS.c.resource_class)
_ALL_INVENTORIES = select(_INVENTORIES.c.provider_id, _INVENTORIES.c.resource_class,
                          _INVENTORIES.c.total, _INVENTORIES.c.reserved,
                          _INVENTORIES.c.allocation_ratio, _INVENTORIES.c.min_unit,
                          _INVENTORIES.c.max_unit, _INVENTORIES.c.step_size)
_ALL_TRAITS = select(_TRAITS.c.provider_id, _TRAITS.c.trait)
_ALL_AGGREGATES = select(_AGGREGATES.c.provider_id, _AGGREGATES.c.aggregate)


async def load(session: AsyncSession) -> Snapshot:
    nodes: dict[int, Node] = {}
    for pid, uuid, parent, root in (await session.execute(_ALL_PROVIDERS)).all():
        nodes[pid] = Node(pid, uuid, parent, root if root is not None else pid)
    used = {(p, rc): int(n or 0) for p, rc, n in (await session.execute(_ALL_USAGE)).all()}
    for pid, rc, total, reserved, ratio, min_unit, max_unit, step in (
            await session.execute(_ALL_INVENTORIES)).all():
        if pid in nodes:
            nodes[pid].stock[rc] = Stock(int((total - reserved) * ratio), used.get((pid, rc), 0),
                                         min_unit, max_unit, step)
    traits: dict[int, set[str]] = {}
    for pid, trait in (await session.execute(_ALL_TRAITS)).all():
        traits.setdefault(pid, set()).add(trait)
    aggregates: dict[int, set[str]] = {}
    for pid, agg in (await session.execute(_ALL_AGGREGATES)).all():
        aggregates.setdefault(pid, set()).add(agg)
    for pid, node in nodes.items():
        node.traits = frozenset(traits.get(pid, ()))
        node.aggregates = frozenset(aggregates.get(pid, ()))
    return Snapshot(nodes, {n.uuid: n for n in nodes.values()})
