"""Volume and snapshot lists: Cinder's filters, sorting, marker/limit/offset and with_count.

Filters an SQL column answers go to the database; metadata, image metadata, `~` (like) and
time-comparison filters are applied to the loaded values, as Cinder's DB API does with its
generic filters. Sorting follows `sort=key:dir,...` or the older sort_key/sort_dir pair, with
the id last so pages are stable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select

from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import SnapshotRow, VolumeRow
from nimbus.volume.service.common import Snapshot, Volume, load_snapshots, load_volumes

T = TypeVar("T", Volume, Snapshot)

VOLUME_SORT_KEYS = {"id", "name", "status", "size", "availability_zone", "created_at",
                    "updated_at", "bootable", "project_id", "user_id", "volume_type",
                    "display_name"}
SNAPSHOT_SORT_KEYS = {"id", "name", "status", "size", "volume_id", "created_at", "updated_at",
                      "project_id", "display_name"}
_TIME_OPS: dict[str, Callable[[dt.datetime, dt.datetime], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "eq": lambda a, b: a == b, "neq": lambda a, b: a != b}


@dataclasses.dataclass
class ListQuery:
    filters: dict[str, str]
    sort: list[tuple[str, str]]
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_tenants: bool = False


def parse_sort(sort: str | None, sort_key: str | None, sort_dir: str | None,
               allowed: set[str]) -> list[tuple[str, str]]:
    if sort and (sort_key or sort_dir):
        raise errors.InvalidInput(reason="The 'sort_key' and 'sort_dir' parameters are "
                                         "deprecated and cannot be used with the 'sort' "
                                         "parameter.")
    pairs: list[tuple[str, str]] = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key, direction or "desc"))
    elif sort_key:
        pairs = [(sort_key, sort_dir or "desc")]
    else:
        pairs = [("created_at", sort_dir or "desc")]
    for key, direction in pairs:
        if key not in allowed:
            raise errors.InvalidInput(reason=f"Invalid sort key {key}")
        if direction not in ("asc", "desc"):
            raise errors.InvalidInput(reason=f"Invalid sort direction {direction}")
    return [("name" if k == "display_name" else k, d) for k, d in pairs]


def _dict_filter(raw: str, name: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        try:  # the CLI's older form: metadata={'k': 'v'}
            value = json.loads(raw.replace("'", '"'))
        except ValueError:
            raise errors.InvalidInput(reason=f"Invalid {name} filter {raw}") from None
    if not isinstance(value, dict):
        raise errors.InvalidInput(reason=f"Invalid {name} filter {raw}")
    return {str(k): str(v) for k, v in value.items()}


def _time_matches(value: dt.datetime | None, raw: str) -> bool:
    op, _, stamp = raw.partition(":")
    if op not in _TIME_OPS or not stamp:
        raise errors.InvalidInput(reason=f"Invalid time comparison filter {raw}")
    try:
        wanted = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise errors.InvalidInput(reason=f"Invalid time comparison filter {raw}") from None
    return value is not None and _TIME_OPS[op](value, wanted)


def _matches(item: Volume | Snapshot, key: str, raw: str) -> bool:
    if key in ("metadata", "glance_metadata"):
        have = item.metadata if key == "metadata" else getattr(item, "image_metadata", {})
        return all(have.get(k) == v for k, v in _dict_filter(raw, key).items())
    if key in ("created_at", "updated_at"):
        return _time_matches(getattr(item, key), raw)
    if key.endswith("~"):
        value = getattr(item, key[:-1], None)
        return value is not None and raw.lower() in str(value).lower()
    value = getattr(item, key, None)
    if key == "volume_type":
        value = getattr(item, "volume_type_name", None)
        return raw in (value, getattr(item, "volume_type_id", None))
    if isinstance(value, bool):
        return value == (raw.lower() in ("1", "true", "t", "yes", "y", "on"))
    return value is not None and str(value) == raw


def _sort_value(item: Volume | Snapshot, key: str) -> Any:
    value = getattr(item, "volume_type_name" if key == "volume_type" else key, None)
    return (value is None, value if value is not None else "")


def _ordered(items: list[T], sort: list[tuple[str, str]]) -> list[T]:
    ordered = sorted(items, key=lambda i: i.id)
    for key, direction in reversed(sort):
        ordered.sort(key=functools.partial(_sort_value, key=key), reverse=direction == "desc")
    return ordered


def page(items: Sequence[T], query: ListQuery, max_limit: int) -> tuple[list[T], int]:
    """(the page, the count of all matches)."""
    found = [i for i in items if all(_matches(i, k, v) for k, v in query.filters.items())]
    ordered = _ordered(found, query.sort)
    if query.marker is not None:
        ids = [i.id for i in ordered]
        if query.marker not in ids:
            raise errors.MarkerNotFound(marker=query.marker)
        ordered = ordered[ids.index(query.marker) + 1:]
    ordered = ordered[query.offset:]
    limit = min(query.limit, max_limit) if query.limit is not None else max_limit
    return ordered[:limit], len(found)


_VOLUME_COLUMNS = {"status": VolumeRow.status, "availability_zone": VolumeRow.availability_zone,
                   "id": VolumeRow.id, "snapshot_id": VolumeRow.snapshot_id,
                   "source_volid": VolumeRow.source_volid}


async def list_volumes(deps: VolumeDeps, ctx: RequestContext,
                       query: ListQuery) -> tuple[list[Volume], int]:
    deps.policy.authorize("volume:get_all", ctx, {"project_id": ctx.project_id})
    filters = dict(query.filters)
    statement = select(VolumeRow)
    if query.all_tenants and ctx.is_admin:
        project = filters.pop("project_id", None)
        if project is not None:
            statement = statement.where(VolumeRow.project_id == project)
    else:
        filters.pop("project_id", None)
        statement = statement.where(VolumeRow.project_id == (ctx.project_id or ""))
    for key in list(filters):
        column = _VOLUME_COLUMNS.get(key)
        if column is not None:
            statement = statement.where(column == filters.pop(key))
    async with deps.read() as session:
        volumes = await load_volumes(session, list((await session.execute(statement)).scalars()))
    return page(volumes, dataclasses.replace(query, filters=filters), deps.settings.volume.max_limit)


async def list_snapshots(deps: VolumeDeps, ctx: RequestContext,
                         query: ListQuery) -> tuple[list[Snapshot], int]:
    deps.policy.authorize("volume:get_all_snapshots", ctx, {"project_id": ctx.project_id})
    filters = dict(query.filters)
    statement = select(SnapshotRow)
    if query.all_tenants and ctx.is_admin:
        project = filters.pop("project_id", None)
        if project is not None:
            statement = statement.where(SnapshotRow.project_id == project)
    else:
        filters.pop("project_id", None)
        statement = statement.where(SnapshotRow.project_id == (ctx.project_id or ""))
    for key in ("status", "volume_id"):
        if key in filters:
            statement = statement.where(getattr(SnapshotRow, key) == filters.pop(key))
    async with deps.read() as session:
        snaps = await load_snapshots(session, list((await session.execute(statement)).scalars()))
    return page(snaps, dataclasses.replace(query, filters=filters), deps.settings.volume.max_limit)
