"""Resource classes: the standard ones (read-only) and custom ones (CUSTOM_*)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import exists, select, update

from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.placement import errors, standard
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.models import AllocationRow, CustomResourceClassRow, InventoryRow


@dataclasses.dataclass(frozen=True)
class ResourceClass:
    name: str
    created_at: dt.datetime | None = None


async def list_resource_classes(deps: PlacementDeps, ctx: RequestContext) -> list[ResourceClass]:
    deps.authorize(ctx, "resource_classes:list")
    async with deps.read() as session:
        custom = (await session.execute(select(CustomResourceClassRow).order_by(
            CustomResourceClassRow.id))).scalars()
        return ([ResourceClass(n) for n in standard.RESOURCE_CLASSES]
                + [ResourceClass(r.name, r.created_at) for r in custom])


async def get_resource_class(deps: PlacementDeps, ctx: RequestContext, name: str) -> ResourceClass:
    deps.authorize(ctx, "resource_classes:show")
    if standard.is_standard_resource_class(name):
        return ResourceClass(name)
    async with deps.read() as session:
        row = (await session.execute(select(CustomResourceClassRow).where(
            CustomResourceClassRow.name == name))).scalar_one_or_none()
    if row is None:
        raise errors.ResourceClassNotFound(name=name)
    return ResourceClass(row.name, row.created_at)


def _check_custom(name: str) -> None:
    if not standard.is_custom_name(name):
        raise errors.InvalidInput(detail=f"JSON does not validate: '{name}' does not match "
                                         f"'{standard.CUSTOM_NAME_RE.pattern}'")


async def create_resource_class(deps: PlacementDeps, ctx: RequestContext, name: str) -> ResourceClass:
    """POST: 409 if it exists."""
    deps.authorize(ctx, "resource_classes:create")
    _check_custom(name)
    created = await ensure_resource_class(deps, ctx, name)
    if created is None:
        raise errors.DuplicateName(detail=f"Conflicting resource class already exists: {name}")
    return created


async def ensure_resource_class(deps: PlacementDeps, ctx: RequestContext,
                                name: str) -> ResourceClass | None:
    """PUT from 1.7: create if missing; the new class, or None if it already existed."""
    deps.authorize(ctx, "resource_classes:update")
    _check_custom(name)
    try:
        async with deps.write() as session:
            if await session.scalar(select(exists().where(CustomResourceClassRow.name == name))):
                return None
            row = CustomResourceClassRow(name=name)
            session.add(row)
            await session.flush()
            return ResourceClass(row.name, row.created_at)
    except core_errors.Conflict as exc:
        if type(exc) is not core_errors.Conflict:
            raise
        return None  # a concurrent request created it


async def rename_resource_class(deps: PlacementDeps, ctx: RequestContext, name: str,
                                new_name: str) -> ResourceClass:
    """PUT before 1.7: rename a custom class, and everything that refers to it."""
    deps.authorize(ctx, "resource_classes:update")
    if standard.is_standard_resource_class(name):
        raise errors.InvalidInput(detail=f"Cannot update standard resource class {name}")
    _check_custom(new_name)
    async with deps.write() as session:
        row = (await session.execute(select(CustomResourceClassRow).where(
            CustomResourceClassRow.name == name))).scalar_one_or_none()
        if row is None:
            raise errors.ResourceClassNotFound(name=name)
        if new_name != name:
            if await session.scalar(select(exists().where(CustomResourceClassRow.name == new_name))):
                raise errors.DuplicateName(detail=f"Resource class already exists: {new_name}")
            row.name = new_name
            for table in (InventoryRow, AllocationRow):
                await session.execute(update(table).where(table.resource_class == name)
                                      .values(resource_class=new_name)
                                      .execution_options(synchronize_session=False))
        await session.flush()
        return ResourceClass(row.name, row.created_at)


async def delete_resource_class(deps: PlacementDeps, ctx: RequestContext, name: str) -> None:
    deps.authorize(ctx, "resource_classes:delete")
    if standard.is_standard_resource_class(name):
        raise errors.InvalidInput(detail=f"Cannot delete standard resource class {name}.")
    async with deps.write() as session:
        row = (await session.execute(select(CustomResourceClassRow).where(
            CustomResourceClassRow.name == name))).scalar_one_or_none()
        if row is None:
            raise errors.ResourceClassNotFound(name=name)
        if await session.scalar(select(exists().where(InventoryRow.resource_class == name))):
            raise errors.InUse(detail=f"Cannot delete resource class {name}. "
                                      "Class is in use in inventory.")
        await session.delete(row)
