"""Volume types, their extra specs and access lists; the default type (Cinder's __DEFAULT__)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import (
    VolumeRow,
    VolumeTypeExtraSpecRow,
    VolumeTypeProjectRow,
    VolumeTypeRow,
)
from nimbus.volume.service.common import is_uuid, new_id

MANAGE = "volume_extension:types_manage"


@dataclasses.dataclass(frozen=True)
class VolumeType:
    id: str
    name: str
    description: str | None
    is_public: bool
    extra_specs: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime | None


async def _specs(session: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {t: {} for t in type_ids}
    if type_ids:
        for spec in (await session.execute(select(VolumeTypeExtraSpecRow).where(
                VolumeTypeExtraSpecRow.type_id.in_(type_ids)))).scalars():
            found[spec.type_id][spec.key] = spec.value
    return found


async def specs_of(session: AsyncSession, type_id: str) -> dict[str, str]:
    return (await _specs(session, [type_id]))[type_id]


async def _load(session: AsyncSession, rows: list[VolumeTypeRow]) -> list[VolumeType]:
    specs = await _specs(session, [r.id for r in rows])
    return [VolumeType(r.id, r.name, r.description, r.is_public, specs[r.id], r.created_at,
                       r.updated_at) for r in rows]


async def _visible(session: AsyncSession, ctx: RequestContext, row: VolumeTypeRow) -> bool:
    if row.is_public or ctx.is_admin:
        return True
    shared = await session.get(VolumeTypeProjectRow, (row.id, ctx.project_id or ""))
    return shared is not None


async def find_type(session: AsyncSession, ctx: RequestContext, ref: str) -> VolumeTypeRow:
    """A type the caller may use, by id or by name (Cinder accepts either)."""
    row = await session.get(VolumeTypeRow, ref) if is_uuid(ref) else None
    if row is None:
        row = (await session.execute(select(VolumeTypeRow).where(
            VolumeTypeRow.name == ref))).scalar_one_or_none()
    if row is None or not await _visible(session, ctx, row):
        raise errors.VolumeTypeNotFound(type_id=ref)
    return row


async def default_type(session: AsyncSession, deps: VolumeDeps) -> VolumeTypeRow:
    name = deps.settings.volume.default_volume_type
    row = (await session.execute(select(VolumeTypeRow).where(
        VolumeTypeRow.name == name))).scalar_one_or_none()
    if row is None:
        raise errors.VolumeTypeNotFound(type_id=name)
    return row


async def ensure_default_type(factory: db.SessionFactory, name: str) -> None:
    """Idempotent bootstrap: the type volumes get when they name none."""
    async with db.transaction(factory) as session:
        found = (await session.execute(select(VolumeTypeRow).where(
            VolumeTypeRow.name == name))).scalar_one_or_none()
        if found is None:
            session.add(VolumeTypeRow(id=new_id(), name=name, is_public=True,
                                      description="Default Volume Type"))


async def list_types(deps: VolumeDeps, ctx: RequestContext, *, is_public: bool | None,
                     extra_specs: dict[str, str], sort_key: str, sort_dir: str,
                     limit: int | None, marker: str | None) -> list[VolumeType]:
    deps.policy.authorize("volume_extension:type_get_all", ctx)
    async with deps.read() as session:
        query = select(VolumeTypeRow)
        if not ctx.is_admin:
            shared = select(VolumeTypeProjectRow.type_id).where(
                VolumeTypeProjectRow.project_id == (ctx.project_id or ""))
            query = query.where(or_(VolumeTypeRow.is_public.is_(True),
                                    VolumeTypeRow.id.in_(shared)))
        elif is_public is not None:
            query = query.where(VolumeTypeRow.is_public.is_(is_public))
        column = getattr(VolumeTypeRow, sort_key if sort_key in {
            "id", "name", "created_at", "updated_at", "is_public", "description"} else "created_at")
        query = query.order_by(column.desc() if sort_dir == "desc" else column.asc(),
                               VolumeTypeRow.id)
        found = await _load(session, list((await session.execute(query)).scalars()))
    found = [t for t in found if all(t.extra_specs.get(k) == v for k, v in extra_specs.items())]
    if marker is not None:
        ids = [t.id for t in found]
        if marker not in ids:
            raise errors.MarkerNotFound(marker=marker)
        found = found[ids.index(marker) + 1:]
    return found[:limit] if limit is not None else found


async def get_type(deps: VolumeDeps, ctx: RequestContext, type_id: str) -> VolumeType:
    deps.policy.authorize("volume_extension:type_get", ctx)
    async with deps.read() as session:
        if type_id == "default":
            row = await default_type(session, deps)
        else:
            row = await find_type(session, ctx, type_id)
        return (await _load(session, [row]))[0]


async def create_type(deps: VolumeDeps, ctx: RequestContext, name: str, description: str | None,
                      is_public: bool, extra_specs: dict[str, str]) -> VolumeType:
    deps.policy.authorize(MANAGE, ctx)
    async with deps.write() as session:
        taken = await session.scalar(select(func.count()).select_from(VolumeTypeRow).where(
            VolumeTypeRow.name == name))
        if taken:
            raise errors.VolumeTypeExists(name=name)
        row = VolumeTypeRow(id=new_id(), name=name, description=description, is_public=is_public)
        session.add(row)
        await session.flush()
        for key, value in extra_specs.items():
            session.add(VolumeTypeExtraSpecRow(type_id=row.id, key=key, value=value))
    return VolumeType(row.id, row.name, row.description, row.is_public, dict(extra_specs),
                      row.created_at, None)


async def update_type(deps: VolumeDeps, ctx: RequestContext, type_id: str, *, name: str | None,
                      description: str | None, is_public: bool | None,
                      description_given: bool) -> VolumeType:
    deps.policy.authorize(MANAGE, ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        if name is not None and name != row.name:
            if row.name == deps.settings.volume.default_volume_type:
                raise errors.InvalidVolumeType(reason="The default volume type cannot be renamed.")
            taken = await session.scalar(select(func.count()).select_from(VolumeTypeRow).where(
                VolumeTypeRow.name == name))
            if taken:
                raise errors.VolumeTypeExists(name=name)
            row.name = name
        if description_given:
            row.description = description
        if is_public is not None:
            row.is_public = is_public
        row.updated_at = db.utcnow()
        return (await _load(session, [row]))[0]


async def delete_type(deps: VolumeDeps, ctx: RequestContext, type_id: str) -> None:
    deps.policy.authorize(MANAGE, ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        if row.name == deps.settings.volume.default_volume_type:
            raise errors.InvalidVolumeType(reason="Default volume type can not be deleted.")
        in_use = await session.scalar(select(func.count()).select_from(VolumeRow).where(
            VolumeRow.volume_type_id == row.id))
        if in_use:
            raise errors.VolumeTypeInUse(type_id=row.id)
        await session.delete(row)


async def get_extra_specs(deps: VolumeDeps, ctx: RequestContext, type_id: str) -> dict[str, str]:
    deps.policy.authorize("volume_extension:types_extra_specs:index", ctx)
    async with deps.read() as session:
        row = await find_type(session, ctx, type_id)
        return (await _specs(session, [row.id]))[row.id]


async def get_extra_spec(deps: VolumeDeps, ctx: RequestContext, type_id: str, key: str) -> str:
    deps.policy.authorize("volume_extension:types_extra_specs:show", ctx)
    specs = await get_extra_specs(deps, ctx, type_id)
    if key not in specs:
        raise errors.ExtraSpecNotFound(type_id=type_id, key=key)
    return specs[key]


async def set_extra_specs(deps: VolumeDeps, ctx: RequestContext, type_id: str,
                          specs: dict[str, str], *, rule: str) -> dict[str, str]:
    deps.policy.authorize(rule, ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        for key, value in specs.items():
            existing = await session.get(VolumeTypeExtraSpecRow, (row.id, key))
            if existing is None:
                session.add(VolumeTypeExtraSpecRow(type_id=row.id, key=key, value=value))
            else:
                existing.value = value
    return specs


async def delete_extra_spec(deps: VolumeDeps, ctx: RequestContext, type_id: str, key: str) -> None:
    deps.policy.authorize("volume_extension:types_extra_specs:delete", ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        done = await session.execute(delete(VolumeTypeExtraSpecRow).where(
            VolumeTypeExtraSpecRow.type_id == row.id, VolumeTypeExtraSpecRow.key == key))
        if not getattr(done, "rowcount", 0):
            raise errors.ExtraSpecNotFound(type_id=type_id, key=key)


async def list_access(deps: VolumeDeps, ctx: RequestContext, type_id: str) -> list[str]:
    deps.policy.authorize("volume_extension:volume_type_access", ctx)
    async with deps.read() as session:
        row = await find_type(session, ctx, type_id)
        if row.is_public:
            raise errors.VolumeTypeNotFound(type_id=type_id)  # Cinder: no access list to show
        return list((await session.execute(select(VolumeTypeProjectRow.project_id).where(
            VolumeTypeProjectRow.type_id == row.id))).scalars())


async def add_access(deps: VolumeDeps, ctx: RequestContext, type_id: str, project_id: str) -> None:
    deps.policy.authorize("volume_extension:volume_type_access:addProjectAccess", ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        if row.is_public:
            raise errors.InvalidVolumeType(
                reason="Type access modification is not applicable to public volume type.")
        if await session.get(VolumeTypeProjectRow, (row.id, project_id)) is not None:
            raise errors.TypeAccessExists(type_id=type_id, project_id=project_id)
        session.add(VolumeTypeProjectRow(type_id=row.id, project_id=project_id))


async def remove_access(deps: VolumeDeps, ctx: RequestContext, type_id: str,
                        project_id: str) -> None:
    deps.policy.authorize("volume_extension:volume_type_access:removeProjectAccess", ctx)
    async with deps.write() as session:
        row = await find_type(session, ctx, type_id)
        found = await session.get(VolumeTypeProjectRow, (row.id, project_id))
        if found is None:
            raise errors.TypeAccessNotFound(type_id=type_id, project_id=project_id)
        await session.delete(found)
