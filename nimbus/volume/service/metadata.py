"""Key/value metadata of volumes and snapshots: show, merge (POST), replace (PUT), one key."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps


@dataclasses.dataclass(frozen=True)
class Owner:
    """Whose metadata: a kind for messages, the rows' class and owner column, and a loader
    that checks the owner exists for the caller (raising its NotFound)."""

    kind: str
    owner_id: str
    row_class: Any
    owner_column: InstrumentedAttribute[str]
    owner_field: str
    load: Callable[[AsyncSession], Awaitable[Any]]
    read_rule: str
    write_rule: str


async def _items(session: AsyncSession, owner: Owner) -> dict[str, Any]:
    rows = (await session.execute(select(owner.row_class).where(
        owner.owner_column == owner.owner_id))).scalars()
    return {r.key: r for r in rows}


async def show(deps: VolumeDeps, ctx: RequestContext, owner: Owner) -> dict[str, str]:
    async with deps.read() as session:
        parent = await owner.load(session)
        deps.policy.authorize(owner.read_rule, ctx, {"project_id": parent.project_id})
        return {k: r.value for k, r in (await _items(session, owner)).items()}


async def show_key(deps: VolumeDeps, ctx: RequestContext, owner: Owner, key: str) -> str:
    found = await show(deps, ctx, owner)
    if key not in found:
        raise errors.MetadataNotFound(kind=owner.kind, owner_id=owner.owner_id, key=key)
    return found[key]


async def write(deps: VolumeDeps, ctx: RequestContext, owner: Owner, values: dict[str, str], *,
                replace: bool) -> dict[str, str]:
    """Merge `values` in (or replace everything with them); the metadata after."""
    async with deps.write() as session:
        parent = await owner.load(session)
        deps.policy.authorize(owner.write_rule, ctx, {"project_id": parent.project_id})
        existing = await _items(session, owner)
        if replace:
            for key, row in existing.items():
                if key not in values:
                    await session.delete(row)
        for key, value in values.items():
            if key in existing:
                existing[key].value = value
            else:
                session.add(owner.row_class(**{owner.owner_field: owner.owner_id, "key": key,
                                               "value": value}))
        await session.flush()
        return {k: r.value for k, r in (await _items(session, owner)).items()}


async def delete_key(deps: VolumeDeps, ctx: RequestContext, owner: Owner, key: str) -> None:
    async with deps.write() as session:
        parent = await owner.load(session)
        deps.policy.authorize(owner.write_rule, ctx, {"project_id": parent.project_id})
        row = (await _items(session, owner)).get(key)
        if row is None:
            raise errors.MetadataNotFound(kind=owner.kind, owner_id=owner.owner_id, key=key)
        await session.delete(row)
