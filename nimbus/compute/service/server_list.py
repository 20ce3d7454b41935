"""`GET /servers` and `/servers/detail`: Nova's filters, sorting and marker pagination.

Non-admins may use a fixed set of filters; Nova silently ignores the rest, and so do we.
The usual list (sorted by created_at, no name, flavor or ip filter) is paged by the
database, keyset on (created_at, uuid); the rest are filtered and paged here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow, InstanceTagRow
from nimbus.compute.service import ips
from nimbus.compute.service.servers import Server, assemble
from nimbus.compute.states import vm_states_for_status
from nimbus.core import errors
from nimbus.core.context import RequestContext

SORT_KEYS = {"created_at": InstanceRow.created_at, "display_name": InstanceRow.display_name,
             "updated_at": InstanceRow.updated_at, "uuid": InstanceRow.uuid,
             "vm_state": InstanceRow.vm_state, "task_state": InstanceRow.task_state,
             "power_state": InstanceRow.power_state, "launched_at": InstanceRow.launched_at,
             "terminated_at": InstanceRow.terminated_at, "host": InstanceRow.host,
             "node": InstanceRow.node, "hostname": InstanceRow.hostname,
             "availability_zone": InstanceRow.availability_zone, "key_name": InstanceRow.key_name,
             "project_id": InstanceRow.project_id, "user_id": InstanceRow.user_id,
             "image_ref": InstanceRow.image_ref, "locked": InstanceRow.locked}
# Sorting by these reveals where servers run: admins only, as in Nova.
ADMIN_SORT_KEYS = {"host", "node"}


@dataclasses.dataclass(frozen=True)
class ServerQuery:
    all_tenants: bool = False
    project_id: str | None = None
    name: str | None = None
    # Several may be given (`?status=ACTIVE&status=ERROR`): a server in any of them matches.
    statuses: tuple[str, ...] = ()
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    node: str | None = None
    ip: str | None = None
    ip6: str | None = None
    reservation_id: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()
    locked: bool | None = None
    sort_keys: tuple[str, ...] = ("created_at",)
    sort_dirs: tuple[str, ...] = ("desc",)
    limit: int | None = None
    marker: str | None = None


def _tag_filters(query: Select[Any], q: ServerQuery) -> Select[Any]:
    def having(tag: str) -> ColumnElement[bool]:
        return InstanceRow.uuid.in_(select(InstanceTagRow.instance_uuid).where(
            InstanceTagRow.tag == tag))

    for tag in q.tags:
        query = query.where(having(tag))
    if q.tags_any:
        query = query.where(or_(*(having(t) for t in q.tags_any)))
    if q.not_tags:
        query = query.where(~and_(*(having(t) for t in q.not_tags)))
    for tag in q.not_tags_any:
        query = query.where(~having(tag))
    return query


def _filtered(ctx: RequestContext, q: ServerQuery) -> Select[Any]:
    # The request spec is for the conductor; a list never shows it, and it is the largest column.
    query = select(InstanceRow).options(defer(InstanceRow.request_spec, raiseload=True))
    if not (ctx.is_admin and q.all_tenants):
        query = query.where(InstanceRow.project_id == ctx.project_id)
    elif q.project_id is not None:
        query = query.where(InstanceRow.project_id == q.project_id)
    # Deleted servers show only to a changes-since query, as Nova does.
    if q.changes_since is None:
        query = query.where(InstanceRow.deleted_at.is_(None))
    else:
        query = query.where(InstanceRow.updated_at >= q.changes_since)
    if q.changes_before is not None:
        query = query.where(InstanceRow.updated_at <= q.changes_before)
    if q.statuses:
        pairs = [pair for status in q.statuses for pair in vm_states_for_status(status) or ()]
        if not pairs:
            return query.where(InstanceRow.uuid.is_(None))  # unknown statuses match nothing
        query = query.where(or_(*(
            InstanceRow.vm_state == vm if task is None else
            and_(InstanceRow.vm_state == vm, InstanceRow.task_state == task)
            for vm, task in pairs)))
    if q.image is not None:
        query = query.where(InstanceRow.image_ref == q.image.rstrip("/").rsplit("/", 1)[-1])
    if q.reservation_id is not None:
        query = query.where(InstanceRow.reservation_id == q.reservation_id)
    if q.locked is not None:
        query = query.where(InstanceRow.locked.is_(q.locked))
    if ctx.is_admin:
        if q.host is not None:
            query = query.where(InstanceRow.host == q.host)
        if q.node is not None:
            query = query.where(InstanceRow.node == q.node)
    return _tag_filters(query, q)


def _ordered(query: Select[Any], ctx: RequestContext,
             q: ServerQuery) -> Select[Any]:
    columns: list[Any] = []
    for index, key in enumerate(q.sort_keys):
        if key not in SORT_KEYS or (key in ADMIN_SORT_KEYS and not ctx.is_admin):
            raise errors.BadRequest(f"Invalid sort_key {key}.")
        direction = q.sort_dirs[index] if index < len(q.sort_dirs) else q.sort_dirs[-1]
        if direction not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid sort_dir {direction}.")
        column = SORT_KEYS[key]
        columns.append(column.asc() if direction == "asc" else column.desc())
    # A unique last key makes pages stable.
    columns.append(InstanceRow.uuid.desc())
    return query.order_by(*columns)


async def list_rows(deps: ComputeDeps, ctx: RequestContext, q: ServerQuery) -> list[InstanceRow]:
    """`GET /servers`: the page's rows alone, all a brief view shows."""
    _authorize(deps, ctx, q, "os_compute_api:servers:index")
    async with deps.read() as session:
        return await _rows(deps, session, ctx, q)


async def list_servers(deps: ComputeDeps, ctx: RequestContext, q: ServerQuery) -> list[Server]:
    """`GET /servers/detail`: the page's servers with their metadata, tags, faults and more."""
    _authorize(deps, ctx, q, "os_compute_api:servers:detail")
    async with deps.read() as session:
        return await assemble(session, await _rows(deps, session, ctx, q))


def _authorize(deps: ComputeDeps, ctx: RequestContext, q: ServerQuery, rule: str) -> None:
    deps.policy.authorize(rule, ctx, {"project_id": ctx.project_id})
    if q.all_tenants:
        deps.policy.authorize(f"{rule}:get_all_tenants", ctx, {"project_id": ctx.project_id})


def page_size(deps: ComputeDeps, q: ServerQuery) -> int:
    """How many servers one page holds: the limit asked for, at most the configured maximum."""
    most = deps.settings.compute.max_limit
    return min(q.limit, most) if q.limit is not None else most


async def _rows(deps: ComputeDeps, session: AsyncSession, ctx: RequestContext,
                q: ServerQuery) -> list[InstanceRow]:
    try:
        name = re.compile(q.name) if q.name else None
    except re.error:
        raise errors.BadRequest(f"Invalid name filter {q.name!r}.") from None
    filtered = _filtered(ctx, q)
    query = _ordered(filtered, ctx, q)
    page = page_size(deps, q)
    if name is None and q.flavor is None and q.ip is None and q.sort_keys == ("created_at",):
        return await _page_in_sql(session, filtered, query, q, page)
    rows = [r for r in (await session.execute(query)).scalars() if _matches(r, q, name)]
    return _page(rows, q, page)


async def _page_in_sql(session: AsyncSession, filtered: Select[Any], query: Select[Any],
                       q: ServerQuery, page: int) -> list[InstanceRow]:
    """One page read by the database: after the marker in (created_at, uuid) order, the
    order `_ordered` gives, so it equals what `_page` would cut from every row."""
    if q.marker is not None:
        found = (await session.execute(filtered.where(InstanceRow.uuid == q.marker)
                                       .with_only_columns(InstanceRow.created_at))).first()
        if found is None:
            raise errors.BadRequest(f"marker [{q.marker}] not found")
        created = found[0]
        beyond = (InstanceRow.created_at > created if q.sort_dirs[0] == "asc"
                  else InstanceRow.created_at < created)
        query = query.where(or_(beyond, and_(InstanceRow.created_at == created,
                                             InstanceRow.uuid < q.marker)))
    return list((await session.execute(query.limit(page))).scalars())


def _matches(row: InstanceRow, q: ServerQuery, name: re.Pattern[str] | None) -> bool:
    if name is not None and not name.search(row.display_name):
        return False
    if q.flavor is not None and row.flavor.get("flavorid") != q.flavor.rstrip("/").rsplit("/", 1)[-1]:
        return False
    return ips.matches(row, q.ip, q.ip6)


def _page(rows: list[InstanceRow], q: ServerQuery, page: int) -> list[InstanceRow]:
    if q.marker is not None:
        index = next((i for i, r in enumerate(rows) if r.uuid == q.marker), None)
        if index is None:
            raise errors.BadRequest(f"marker [{q.marker}] not found")
        rows = rows[index + 1:]
    return rows[:page]

