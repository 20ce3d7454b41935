"""Resource providers: create, show, list with filters, rename, re-parent, delete."""

from __future__ import annotations

import dataclasses
import uuid as uuidlib

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.placement import errors
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import (
    AllocationRow,
    InventoryRow,
    ProviderAggregateRow,
    ProviderRow,
    ProviderTraitRow,
)
from nimbus.placement.service.common import (
    Provider,
    load_providers,
    provider_by_uuid,
    unknown_resource_classes,
    unknown_traits,
)

UNSET = object()


@dataclasses.dataclass(frozen=True)
class ProviderFilters:
    """GET /resource_providers filters, already parsed; all of them must hold."""

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    # Each inner set: the provider is in at least one of these aggregates.
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggregates: frozenset[str] = frozenset()
    # Each inner set: the provider has at least one of these traits.
    required: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()
    resources: tuple[tuple[str, int], ...] = ()


async def get_provider(deps: PlacementDeps, ctx: RequestContext, uuid: str) -> Provider:
    deps.authorize(ctx, "resource_providers:show")
    async with deps.read() as session:
        return await provider_by_uuid(session, uuid)


async def list_providers(deps: PlacementDeps, ctx: RequestContext,
                         filters: ProviderFilters) -> list[Provider]:
    deps.authorize(ctx, "resource_providers:list")
    async with deps.read() as session:
        missing_rcs = await unknown_resource_classes(session, (rc for rc, _ in filters.resources))
        if missing_rcs:
            raise errors.InvalidInput(detail="Invalid resource class in resources parameter: "
                                             f"No such resource class {missing_rcs[0]}.")
        wanted = {t for any_of in filters.required for t in any_of} | filters.forbidden
        missing_traits = await unknown_traits(session, wanted)
        if missing_traits:
            raise errors.InvalidInput(detail='Invalid trait(s) in "required" parameter: '
                                             f"No such trait(s): {', '.join(missing_traits)}.")
        where = await _filter_clauses(session, filters)
        if where is None:
            return []
        found = await load_providers(session, *where)
        if filters.resources:
            able = await _providers_with_capacity(session, [p.id for p in found], filters.resources)
            found = [p for p in found if p.id in able]
        return found


async def _filter_clauses(session: AsyncSession, filters: ProviderFilters) -> list[object] | None:
    """SQL conditions for the filters; None when they cannot match anything."""
    where: list[object] = []
    if filters.name is not None:
        where.append(ProviderRow.name == filters.name)
    if filters.uuid is not None:
        where.append(ProviderRow.uuid == filters.uuid)
    if filters.in_tree is not None:
        root = (await session.execute(select(ProviderRow.root_id).where(
            ProviderRow.uuid == filters.in_tree))).scalar_one_or_none()
        if root is None:
            return None
        where.append(ProviderRow.root_id == root)
    for any_of in filters.member_of:
        where.append(ProviderRow.id.in_(select(ProviderAggregateRow.provider_id).where(
            ProviderAggregateRow.aggregate.in_(any_of))))
    if filters.forbidden_aggregates:
        where.append(ProviderRow.id.not_in(select(ProviderAggregateRow.provider_id).where(
            ProviderAggregateRow.aggregate.in_(filters.forbidden_aggregates))))
    for any_of in filters.required:
        where.append(ProviderRow.id.in_(select(ProviderTraitRow.provider_id).where(
            ProviderTraitRow.trait.in_(any_of))))
    if filters.forbidden:
        where.append(ProviderRow.id.not_in(select(ProviderTraitRow.provider_id).where(
            ProviderTraitRow.trait.in_(filters.forbidden))))
    return where


async def _providers_with_capacity(session: AsyncSession, ids: list[int],
                                   wanted: tuple[tuple[str, int], ...]) -> set[int]:
    """Providers able to take every amount in `wanted` now (capacity and unit rules)."""
    if not ids:
        return set()
    classes = [rc for rc, _ in wanted]
    inventories = (await session.execute(select(InventoryRow).where(
        InventoryRow.provider_id.in_(ids), InventoryRow.resource_class.in_(classes)))).scalars()
    fits: dict[int, int] = {}
    for inv in inventories:
        amount = dict(wanted)[inv.resource_class]
        capacity = int((inv.total - inv.reserved) * inv.allocation_ratio)
        if (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0
                and inv.used + amount <= capacity):
            fits[inv.provider_id] = fits.get(inv.provider_id, 0) + 1
    return {p for p, n in fits.items() if n == len(wanted)}


async def create_provider(deps: PlacementDeps, ctx: RequestContext, *, name: str,
                          uuid: str | None, parent_uuid: str | None) -> Provider:
    deps.authorize(ctx, "resource_providers:create")
    new_uuid = uuid or str(uuidlib.uuid4())
    if parent_uuid is not None and parent_uuid == new_uuid:
        raise errors.InvalidInput(detail="Unable to create resource provider: a provider "
                                         "cannot be its own parent.")
    try:
        async with deps.write() as session:
            clash = (await session.execute(select(ProviderRow.uuid, ProviderRow.name).where(
                or_(ProviderRow.uuid == new_uuid, ProviderRow.name == name)))).first()
            if clash is not None:
                raise _duplicate(new_uuid if clash.uuid == new_uuid else None, name)
            parent: ProviderRow | None = None
            if parent_uuid is not None:
                parent = (await session.execute(select(ProviderRow).where(
                    ProviderRow.uuid == parent_uuid))).scalar_one_or_none()
                if parent is None:
                    raise errors.InvalidInput(
                        detail=f"Unable to create resource provider \"{name}\", {new_uuid}: "
                               "The parent provider UUID does not exist.")
            row = ProviderRow(uuid=new_uuid, name=name, generation=0,
                              parent_id=parent.id if parent else None,
                              root_id=parent.root_id if parent else None)
            session.add(row)
            await session.flush()
            if row.root_id is None:
                row.root_id = row.id
                await session.flush()
            return await provider_by_uuid(session, new_uuid)
    except core_errors.Conflict as exc:
        if type(exc) is not core_errors.Conflict:
            raise
        raise _duplicate(None, name) from exc


def _duplicate(uuid: str | None, name: str) -> errors.DuplicateName:
    what = f"uuid: {uuid}" if uuid else f"name: {name}"
    return errors.DuplicateName(detail=f"Conflicting resource provider {what} already exists.")


async def update_provider(deps: PlacementDeps, ctx: RequestContext, uuid: str, *, name: str,
                          parent_uuid: object = UNSET, allow_reparenting: bool = False) -> Provider:
    """Rename, and set the parent (`UNSET`: leave it). Before 1.37 a parent, once set, stays."""
    deps.authorize(ctx, "resource_providers:update")
    try:
        async with deps.write() as session:
            row = (await session.execute(select(ProviderRow).where(
                ProviderRow.uuid == uuid))).scalar_one_or_none()
            if row is None:
                raise errors.ProviderNotFound(uuid=uuid)
            if name != row.name:
                taken = await session.scalar(select(exists().where(ProviderRow.name == name)))
                if taken:
                    raise errors.DuplicateName(
                        detail=f"Conflicting resource provider {name} already exists.")
                row.name = name
            if parent_uuid is not UNSET:
                assert parent_uuid is None or isinstance(parent_uuid, str)
                await _set_parent(session, row, parent_uuid, allow_reparenting)
            await session.flush()
            return await provider_by_uuid(session, uuid)
    except core_errors.Conflict as exc:
        if type(exc) is not core_errors.Conflict:
            raise
        raise errors.DuplicateName(
            detail=f"Conflicting resource provider {name} already exists.") from exc


async def _set_parent(session: AsyncSession, row: ProviderRow, parent_uuid: str | None,
                      allow_reparenting: bool) -> None:
    current = None
    if row.parent_id is not None:
        current = await session.scalar(select(ProviderRow.uuid).where(ProviderRow.id == row.parent_id))
    if parent_uuid == current:
        return
    if current is not None and not allow_reparenting:
        raise errors.InvalidInput(detail=f"Unable to save resource provider {row.uuid}: "
                                         "re-parenting a provider is not currently allowed.")
    new_parent_id: int | None
    new_root: int | None
    if parent_uuid is None:
        new_parent_id, new_root = None, row.id
    else:
        parent = (await session.execute(select(ProviderRow).where(
            ProviderRow.uuid == parent_uuid))).scalar_one_or_none()
        if parent is None:
            raise errors.InvalidInput(detail=f"Unable to save resource provider {row.uuid}: "
                                             "The parent provider UUID does not exist.")
        if parent.id in await _subtree_ids(session, row):
            raise errors.InvalidInput(detail=f"Unable to save resource provider {row.uuid}: "
                                             "creating loop in the provider tree is not allowed.")
        new_parent_id, new_root = parent.id, parent.root_id
    subtree = await _subtree_ids(session, row)
    row.parent_id = new_parent_id
    await session.flush()
    await session.execute(update(ProviderRow).where(ProviderRow.id.in_(subtree))
                          .values(root_id=new_root).execution_options(synchronize_session=False))
    row.root_id = new_root


async def _subtree_ids(session: AsyncSession, row: ProviderRow) -> set[int]:
    """The provider and every provider below it."""
    tree = (await session.execute(select(ProviderRow.id, ProviderRow.parent_id).where(
        ProviderRow.root_id == row.root_id))).all()
    children: dict[int, list[int]] = {}
    for pid, parent in tree:
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found, todo = {row.id}, [row.id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def delete_provider(deps: PlacementDeps, ctx: RequestContext, uuid: str) -> None:
    """Refused while it has children or allocations; takes its inventories, traits and
    aggregate links with it."""
    deps.authorize(ctx, "resource_providers:delete")
    async with deps.write() as session:
        provider_id = await session.scalar(select(ProviderRow.id).where(ProviderRow.uuid == uuid))
        if provider_id is None:
            raise errors.ProviderNotFound(uuid=uuid)
        if await session.scalar(select(exists().where(ProviderRow.parent_id == provider_id))):
            raise errors.CannotDeleteParent(uuid=uuid)
        if await session.scalar(select(exists().where(AllocationRow.provider_id == provider_id))):
            raise errors.ProviderInUse(uuid=uuid)
        for table in (InventoryRow, ProviderTraitRow, ProviderAggregateRow):
            await session.execute(delete(table).where(table.provider_id == provider_id))
        # A root points at itself; clear that before the row goes (MariaDB checks per row).
        await session.execute(update(ProviderRow).where(ProviderRow.id == provider_id)
                              .values(root_id=None).execution_options(synchronize_session=False))
        await session.execute(delete(ProviderRow).where(ProviderRow.id == provider_id))
