"""Flavors, their extra specs and access lists (Nova's flavors, os-flavor-manage,
os-flavor-extra-specs and os-flavor-access)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import FlavorExtraSpecRow, FlavorProjectRow, FlavorRow
from nimbus.compute.schemas import FlavorCreate
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

SORT_KEYS = {"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
             "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at",
             "vcpus"}


@dataclasses.dataclass(frozen=True)
class Flavor:
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    is_public: bool
    disabled: bool
    description: str | None
    extra_specs: dict[str, str]

    @classmethod
    def from_row(cls, row: FlavorRow, extra_specs: dict[str, str]) -> Flavor:
        return cls(row.flavorid, row.name, row.memory_mb, row.vcpus, row.root_gb,
                   row.ephemeral_gb, row.swap, row.rxtx_factor, row.is_public, row.disabled,
                   row.description, extra_specs)


@dataclasses.dataclass(frozen=True)
class FlavorQuery:
    is_public: bool | None = True
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None


def _visible(query: Select[Any], ctx: RequestContext, is_public: bool | None) -> Select[Any]:
    """Nova's rule: public flavors plus the private ones shared with the caller's project."""
    if is_public is None:
        return query
    condition: ColumnElement[bool] = FlavorRow.is_public.is_(is_public)
    if is_public and ctx.project_id is not None:
        shared = select(FlavorProjectRow.flavor_id).where(
            FlavorProjectRow.project_id == ctx.project_id)
        condition = or_(condition, FlavorRow.id.in_(shared))
    return query.where(condition)


# The reads of every boot and flavor show, built once: building a statement and its cache
# key costs more than SQLite running it. A caller without a project binds project_id NULL,
# which matches no access row: public flavors only, as `_visible` gives.
_BY_FLAVORID = select(FlavorRow).where(FlavorRow.flavorid == bindparam("flavorid"))
_USABLE_BY_FLAVORID = _BY_FLAVORID.where(or_(
    FlavorRow.is_public.is_(True), FlavorRow.id.in_(select(FlavorProjectRow.flavor_id).where(
        FlavorProjectRow.project_id == bindparam("project_id")))))
_SPECS_OF = select(FlavorExtraSpecRow).where(
    FlavorExtraSpecRow.flavor_id.in_(bindparam("ids", expanding=True)))


async def specs_of(session: AsyncSession, flavor_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each flavor's extra specs, by the flavor's integer id."""
    found: dict[int, dict[str, str]] = {fid: {} for fid in flavor_ids}
    if flavor_ids:
        rows = await session.execute(_SPECS_OF, {"ids": flavor_ids})
        for spec in rows.scalars():
            found[spec.flavor_id][spec.key] = spec.value
    return found


async def list_flavors(deps: ComputeDeps, ctx: RequestContext, q: FlavorQuery) -> list[Flavor]:
    if q.sort_key not in SORT_KEYS or q.sort_dir not in ("asc", "desc"):
        raise errors.InvalidInput(reason=f"Invalid sort key {q.sort_key} or direction {q.sort_dir}")
    # Non-admins see public flavors and the private ones shared with them, never disabled ones.
    query = _visible(select(FlavorRow), ctx, q.is_public if ctx.is_admin else True)
    if not ctx.is_admin:
        query = query.where(FlavorRow.disabled.is_(False))
    if q.min_ram is not None:
        query = query.where(FlavorRow.memory_mb >= q.min_ram)
    if q.min_disk is not None:
        query = query.where(FlavorRow.root_gb >= q.min_disk)
    column = getattr(FlavorRow, q.sort_key)
    order = column.asc() if q.sort_dir == "asc" else column.desc()
    query = query.order_by(order, FlavorRow.id.asc() if q.sort_dir == "asc" else FlavorRow.id.desc())
    async with deps.read() as session:
        rows = list((await session.execute(query)).scalars())
        if q.marker is not None:
            index = next((i for i, r in enumerate(rows) if r.flavorid == q.marker), None)
            if index is None:
                raise core_errors.BadRequest(f"marker [{q.marker}] not found")
            rows = rows[index + 1:]
        if q.limit is not None:
            rows = rows[:q.limit]
        specs = await specs_of(session, [r.id for r in rows])
    return [Flavor.from_row(r, specs[r.id]) for r in rows]


async def usable_row(session: AsyncSession, ctx: RequestContext,
                     flavorid: str) -> FlavorRow | None:
    """The flavor, if the caller may see and boot it: admins any, others the public ones and
    the private ones shared with their project."""
    if ctx.is_admin:
        result = await session.execute(_BY_FLAVORID, {"flavorid": flavorid})
    else:
        result = await session.execute(_USABLE_BY_FLAVORID,
                                       {"flavorid": flavorid, "project_id": ctx.project_id})
    row: FlavorRow | None = result.scalar_one_or_none()
    return row


async def _row(session: AsyncSession, ctx: RequestContext, flavorid: str) -> FlavorRow:
    row = await usable_row(session, ctx, flavorid)
    if row is None:
        raise errors.FlavorNotFound(flavor_id=flavorid)
    return row


async def get_flavor(deps: ComputeDeps, ctx: RequestContext, flavorid: str) -> Flavor:
    async with deps.read() as session:
        row = await _row(session, ctx, flavorid)
        return Flavor.from_row(row, (await specs_of(session, [row.id]))[row.id])


async def create_flavor(deps: ComputeDeps, ctx: RequestContext, spec: FlavorCreate,
                        version: tuple[int, int]) -> Flavor:
    deps.policy.authorize("os_compute_api:os-flavor-manage:create", ctx)
    if spec.description is not None and version < (2, 55):
        raise errors.InvalidInput(reason="description needs microversion 2.55 or later")
    flavorid = spec.id if spec.id is not None else str(uuid.uuid4())
    try:
        async with deps.write() as session:
            for field, column, value in (("name", FlavorRow.name, spec.name),
                                         ("ID", FlavorRow.flavorid, flavorid)):
                if (await session.execute(select(FlavorRow.id).where(column == value))).first():
                    raise errors.FlavorExists(field=field, value=value)
            row = FlavorRow(flavorid=flavorid, name=spec.name, memory_mb=spec.ram,
                            vcpus=spec.vcpus, root_gb=spec.disk, ephemeral_gb=spec.ephemeral,
                            swap=spec.swap, rxtx_factor=spec.rxtx_factor,
                            is_public=spec.is_public, description=spec.description)
            session.add(row)
    except core_errors.Conflict as exc:  # a concurrent create won the unique index
        if isinstance(exc, errors.FlavorExists):
            raise
        raise errors.FlavorExists(field="name or id", value=spec.name) from exc
    return Flavor.from_row(row, {})


async def update_flavor(deps: ComputeDeps, ctx: RequestContext, flavorid: str,
                        description: str | None) -> Flavor:
    deps.policy.authorize("os_compute_api:os-flavor-manage:update", ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        row.description = description
        row.updated_at = db.utcnow()
        specs = (await specs_of(session, [row.id]))[row.id]
    return Flavor.from_row(row, specs)


async def delete_flavor(deps: ComputeDeps, ctx: RequestContext, flavorid: str) -> None:
    """Servers keep a copy of their flavor, so deleting one in use is allowed, as in Nova."""
    deps.policy.authorize("os_compute_api:os-flavor-manage:delete", ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        await session.execute(delete(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == row.id))
        await session.execute(delete(FlavorProjectRow).where(FlavorProjectRow.flavor_id == row.id))
        await session.delete(row)


# -- extra specs ----------------------------------------------------------------------------


async def get_extra_specs(deps: ComputeDeps, ctx: RequestContext, flavorid: str) -> dict[str, str]:
    deps.policy.authorize("os_compute_api:os-flavor-extra-specs:index", ctx)
    return (await get_flavor(deps, ctx, flavorid)).extra_specs


async def get_extra_spec(deps: ComputeDeps, ctx: RequestContext, flavorid: str, key: str) -> str:
    deps.policy.authorize("os_compute_api:os-flavor-extra-specs:show", ctx)
    specs = (await get_flavor(deps, ctx, flavorid)).extra_specs
    if key not in specs:
        raise errors.FlavorExtraSpecNotFound(flavor_id=flavorid, key=key)
    return specs[key]


async def set_extra_specs(deps: ComputeDeps, ctx: RequestContext, flavorid: str,
                          specs: dict[str, str], *, rule: str) -> dict[str, str]:
    """Adds or overwrites the given keys; others stay."""
    deps.policy.authorize(rule, ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        existing = {s.key: s for s in (await session.execute(select(FlavorExtraSpecRow).where(
            FlavorExtraSpecRow.flavor_id == row.id))).scalars()}
        for key, value in specs.items():
            if key in existing:
                existing[key].value = value
            else:
                session.add(FlavorExtraSpecRow(flavor_id=row.id, key=key, value=value))
        row.updated_at = db.utcnow()
    return specs


async def delete_extra_spec(deps: ComputeDeps, ctx: RequestContext, flavorid: str, key: str) -> None:
    deps.policy.authorize("os_compute_api:os-flavor-extra-specs:delete", ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        result = await session.execute(delete(FlavorExtraSpecRow).where(
            FlavorExtraSpecRow.flavor_id == row.id, FlavorExtraSpecRow.key == key))
        if not getattr(result, "rowcount", 0):
            raise errors.FlavorExtraSpecNotFound(flavor_id=flavorid, key=key)


# -- access lists ---------------------------------------------------------------------------


async def list_access(deps: ComputeDeps, ctx: RequestContext, flavorid: str) -> list[str]:
    deps.policy.authorize("os_compute_api:os-flavor-access", ctx)
    async with deps.read() as session:
        row = await _row(session, ctx, flavorid)
        if row.is_public:
            raise core_errors.NotFound("Access list not available for public flavors.")
        return await _access(session, row.id)


async def _access(session: AsyncSession, flavor_id: int) -> list[str]:
    rows = await session.execute(select(FlavorProjectRow.project_id).where(
        FlavorProjectRow.flavor_id == flavor_id).order_by(FlavorProjectRow.project_id))
    return list(rows.scalars())


async def add_access(deps: ComputeDeps, ctx: RequestContext, flavorid: str,
                     project_id: str) -> list[str]:
    deps.policy.authorize("os_compute_api:os-flavor-access:add_tenant_access", ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        if row.is_public:
            raise errors.FlavorIsPublic()
        if project_id in await _access(session, row.id):
            raise errors.FlavorAccessExists(flavor_id=flavorid, project_id=project_id)
        session.add(FlavorProjectRow(flavor_id=row.id, project_id=project_id))
        await session.flush()
        return await _access(session, row.id)


async def remove_access(deps: ComputeDeps, ctx: RequestContext, flavorid: str,
                        project_id: str) -> list[str]:
    deps.policy.authorize("os_compute_api:os-flavor-access:remove_tenant_access", ctx)
    async with deps.write() as session:
        row = await _row(session, ctx, flavorid)
        result = await session.execute(delete(FlavorProjectRow).where(
            FlavorProjectRow.flavor_id == row.id, FlavorProjectRow.project_id == project_id))
        if not getattr(result, "rowcount", 0):
            raise errors.FlavorAccessNotFound(flavor_id=flavorid, project_id=project_id)
        return await _access(session, row.id)
