"""Usages: what is allocated, per provider (kept on its inventories) or per project (and user,
and consumer type; sums of allocations)."""

from __future__ import annotations

from sqlalchemy import distinct, func, select

from nimbus.core.context import RequestContext
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import AllocationRow, ConsumerRow, InventoryRow
from nimbus.placement.service.common import Provider, provider_by_uuid

UNKNOWN_TYPE = "unknown"
ALL_TYPES = "all"


async def provider_usages(deps: PlacementDeps, ctx: RequestContext,
                          uuid: str) -> tuple[Provider, dict[str, int]]:
    """Every class the provider has inventory of, with what is allocated (0 if nothing)."""
    deps.authorize(ctx, "resource_providers:usages")
    async with deps.read() as session:
        provider = await provider_by_uuid(session, uuid)
        usages = await session.execute(select(InventoryRow.resource_class, InventoryRow.used)
                                       .where(InventoryRow.provider_id == provider.id))
        return provider, {rc: used for rc, used in usages.all()}


async def project_usages(deps: PlacementDeps, ctx: RequestContext, project_id: str,
                         user_id: str | None) -> dict[str, int]:
    deps.authorize(ctx, "usages")
    async with deps.read() as session:
        stmt = (select(AllocationRow.resource_class, func.sum(AllocationRow.used))
                .join(ConsumerRow, ConsumerRow.uuid == AllocationRow.consumer_id)
                .where(ConsumerRow.project_id == project_id)
                .group_by(AllocationRow.resource_class))
        if user_id is not None:
            stmt = stmt.where(ConsumerRow.user_id == user_id)
        return {rc: int(n or 0) for rc, n in (await session.execute(stmt)).all()}


async def project_usages_by_type(deps: PlacementDeps, ctx: RequestContext, project_id: str,
                                 user_id: str | None,
                                 consumer_type: str | None) -> dict[str, dict[str, int]]:
    """From 1.38: {consumer type: {"consumer_count": n, class: used}}. `all` groups every
    consumer under one key; `unknown` is consumers written without a type."""
    deps.authorize(ctx, "usages")
    type_col = func.coalesce(ConsumerRow.consumer_type, UNKNOWN_TYPE)
    group = type_col if consumer_type != ALL_TYPES else None
    async with deps.read() as session:
        result: dict[str, dict[str, int]] = {}
        cols = [AllocationRow.resource_class, func.sum(AllocationRow.used)]
        counts = [func.count(distinct(AllocationRow.consumer_id))]
        keyed = [group] if group is not None else []
        base = (select().join_from(AllocationRow, ConsumerRow,
                                   ConsumerRow.uuid == AllocationRow.consumer_id)
                .where(ConsumerRow.project_id == project_id))
        if user_id is not None:
            base = base.where(ConsumerRow.user_id == user_id)
        if consumer_type not in (None, ALL_TYPES):
            base = base.where(type_col == consumer_type)
        sums = base.add_columns(*keyed, *cols).group_by(*keyed, AllocationRow.resource_class)
        for row in (await session.execute(sums)).all():
            key = row[0] if group is not None else ALL_TYPES
            rc, amount = row[-2], row[-1]
            result.setdefault(key, {})[rc] = int(amount or 0)
        count_q = base.add_columns(*keyed, *counts)
        if group is not None:
            count_q = count_q.group_by(group)
        for row in (await session.execute(count_q)).all():
            key = row[0] if group is not None else ALL_TYPES
            if key in result:
                result[key]["consumer_count"] = int(row[-1])
        return result
