"""Everything allocation candidates look at, read in one go: providers, trees, inventories with
usage, traits and aggregates. Pure data, so the search in `candidates.py` needs no database."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, cast

from sqlalchemy import Table, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.placement import standard
from nimbus.placement.models import (
    InventoryRow,
    ProviderAggregateRow,
    ProviderRow,
    ProviderTraitRow,
)


class Stock(NamedTuple):
    """One inventory as candidates need it (a tuple: a snapshot builds one per inventory)."""

    capacity: int
    used: int
    min_unit: int
    max_unit: int
    step_size: int

    def can_take(self, amount: int) -> bool:
        return (self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0
                and self.used + amount <= self.capacity)


@dataclasses.dataclass(eq=False, slots=True)
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
    # Every provider is a tree of its own and none shares: a candidate is one provider.
    flat: bool = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.flat = all(n.root_id == n.id and not n.shares for n in self.nodes.values())

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
# statements and loading an ORM object per inventory cost more than the database work. Two
# statements, not five: most of a small one's cost is the trip through SQLAlchemy.
_PROVIDERS = cast(Table, ProviderRow.__table__)
_INVENTORIES = cast(Table, InventoryRow.__table__)
_TRAITS = cast(Table, ProviderTraitRow.__table__)
_AGGREGATES = cast(Table, ProviderAggregateRow.__table__)
# One row per inventory (one with no class for a provider without any), in provider order.
_PROVIDER_STOCK = (
    select(_PROVIDERS.c.id, _PROVIDERS.c.uuid, _PROVIDERS.c.parent_id, _PROVIDERS.c.root_id,
           _INVENTORIES.c.resource_class, _INVENTORIES.c.total, _INVENTORIES.c.reserved,
           _INVENTORIES.c.allocation_ratio, _INVENTORIES.c.min_unit, _INVENTORIES.c.max_unit,
           _INVENTORIES.c.step_size, _INVENTORIES.c.used)
    .select_from(_PROVIDERS.outerjoin(_INVENTORIES, _INVENTORIES.c.provider_id == _PROVIDERS.c.id))
    .order_by(_PROVIDERS.c.id))
# Traits (kind 1) and aggregates (kind 0) of every provider.
_TAGS = union_all(
    select(_TRAITS.c.provider_id, _TRAITS.c.trait, literal_column("1")),
    select(_AGGREGATES.c.provider_id, _AGGREGATES.c.aggregate, literal_column("0")))


async def load(session: AsyncSession) -> Snapshot:
    # Core statements on the session's connection: the ORM layer has nothing to add here.
    conn = await session.connection()
    nodes: dict[int, Node] = {}
    for (pid, uuid, parent, root, rc, total, reserved, ratio, min_unit, max_unit, step,
         used) in (await conn.execute(_PROVIDER_STOCK)).all():
        node = nodes.get(pid)
        if node is None:
            node = nodes[pid] = Node(pid, uuid, parent, root if root is not None else pid)
        if rc is not None:
            node.stock[rc] = Stock(int((total - reserved) * ratio), int(used or 0),
                                   min_unit, max_unit, step)
    traits: dict[int, set[str]] = {}
    aggregates: dict[int, set[str]] = {}
    for pid, name, kind in (await conn.execute(_TAGS)).all():
        (traits if kind else aggregates).setdefault(pid, set()).add(name)
    for pid, node in nodes.items():
        node.traits = frozenset(traits.get(pid, ()))
        node.aggregates = frozenset(aggregates.get(pid, ()))
    return Snapshot(nodes, {n.uuid: n for n in nodes.values()})
