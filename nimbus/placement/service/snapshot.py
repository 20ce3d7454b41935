"""Everything allocation candidates look at, read in one go: providers, trees, inventories with
usage, traits and aggregates. Pure data, so the search in `candidates.py` needs no database."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
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


async def load(session: AsyncSession) -> Snapshot:
    nodes: dict[int, Node] = {}
    for pid, uuid, parent, root in (await session.execute(select(
            ProviderRow.id, ProviderRow.uuid, ProviderRow.parent_id, ProviderRow.root_id)
            .order_by(ProviderRow.id))).all():
        nodes[pid] = Node(pid, uuid, parent, root if root is not None else pid)
    used = {(p, rc): int(n or 0) for p, rc, n in (await session.execute(
        select(AllocationRow.provider_id, AllocationRow.resource_class, func.sum(AllocationRow.used))
        .group_by(AllocationRow.provider_id, AllocationRow.resource_class))).all()}
    for inv in (await session.execute(select(InventoryRow))).scalars():
        if inv.provider_id in nodes:
            nodes[inv.provider_id].stock[inv.resource_class] = Stock(
                int((inv.total - inv.reserved) * inv.allocation_ratio),
                used.get((inv.provider_id, inv.resource_class), 0),
                inv.min_unit, inv.max_unit, inv.step_size)
    traits: dict[int, set[str]] = {}
    for pid, trait in (await session.execute(select(ProviderTraitRow.provider_id,
                                                    ProviderTraitRow.trait))).all():
        traits.setdefault(pid, set()).add(trait)
    aggregates: dict[int, set[str]] = {}
    for pid, agg in (await session.execute(select(ProviderAggregateRow.provider_id,
                                                  ProviderAggregateRow.aggregate))).all():
        aggregates.setdefault(pid, set()).add(agg)
    for pid, node in nodes.items():
        node.traits = frozenset(traits.get(pid, ()))
        node.aggregates = frozenset(aggregates.get(pid, ()))
    return Snapshot(nodes, {n.uuid: n for n in nodes.values()})
