"""`GET /v2/images`: Glance's filters, sort keys and marker/limit pagination.

Pagination is by keyset on the sort keys plus `created_at` and `id` (always appended, so the
order is total); nullable sort columns are compared through COALESCE, so SQLite, PostgreSQL
and MariaDB order NULLs alike and a marker continues exactly where the page ended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.sql.expression import literal

from nimbus.core.context import RequestContext
from nimbus.image import errors
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import ImagePage
from nimbus.image.models import ImageRow, MemberRow, PropertyRow, TagRow
from nimbus.image.service import access

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
_NULL_AS: dict[str, Any] = {"name": "", "container_format": "", "disk_format": "", "size": -1}
_IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
_INT_COLUMNS = ("size", "virtual_size", "min_ram", "min_disk")
_COLUMN_FILTERS = ("owner", "checksum", "os_hash_value", "os_hash_algo", *_INT_COLUMNS)
_TIME_OPS = ("gt", "gte", "eq", "neq", "lt", "lte")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)",?|([^,]+),?|,')


@dataclasses.dataclass
class ListQuery:
    limit: int
    marker: str | None
    member_status: str
    visibility: str | None
    sort: list[tuple[str, str]]
    conditions: list[ColumnElement[bool]]


def parse(params: list[tuple[str, str]], *, default_limit: int, max_limit: int) -> ListQuery:
    """Glance's list parameters, checked (400 on anything malformed)."""
    single: dict[str, str] = {}
    tags: list[str] = []
    sort_keys: list[str] = []
    sort_dirs: list[str] = []
    sort: str | None = None
    for key, value in params:
        if key == "tag":
            tags.append(value.strip())
        elif key == "sort_key":
            sort_keys.append(_sort_key(value.strip()))
        elif key == "sort_dir":
            sort_dirs.append(_sort_dir(value.strip()))
        elif key == "sort":
            sort = value
        else:
            single[key] = value
    limit = _limit(single.pop("limit", None), default_limit, max_limit)
    marker = single.pop("marker", None)
    member_status = single.pop("member_status", "accepted")
    if member_status not in ("pending", "accepted", "rejected", "all"):
        raise errors.InvalidFilter(detail=f"Invalid status: {member_status}")
    visibility = single.pop("visibility", None)
    if visibility is not None and visibility not in ("community", "public", "private", "shared",
                                                     "all"):
        raise errors.InvalidFilter(detail=f"Invalid visibility value: {visibility}")
    if "changes-since" in single:
        raise errors.InvalidFilter(detail='The "changes-since" filter is no longer available on v2.')
    return ListQuery(limit=limit, marker=marker, member_status=member_status,
                     visibility=visibility, sort=_sorting(sort, sort_keys, sort_dirs),
                     conditions=_conditions(single, tags))


def _limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return min(default, maximum)
    try:
        limit = int(value)
    except ValueError:
        raise errors.InvalidFilter(detail="limit param must be an integer") from None
    if limit < 0:
        raise errors.InvalidFilter(detail="limit param must be positive")
    return min(limit, maximum)


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise errors.InvalidFilter(detail=f"Invalid sort key: {key}. It must be one of the "
                                          f"following: {', '.join(SORT_KEYS)}.")
    return key


def _sort_dir(direction: str) -> str:
    if direction not in ("asc", "desc"):
        raise errors.InvalidFilter(detail=f"Invalid sort direction: {direction}")
    return direction


def _sorting(sort: str | None, keys: list[str], dirs: list[str]) -> list[tuple[str, str]]:
    if sort is not None:
        if keys or dirs:
            raise errors.InvalidFilter(detail="Old and new sorting syntax cannot be combined")
        pairs = []
        for part in sort.strip().split(","):
            key, _, direction = part.partition(":")
            pairs.append((_sort_key(key.strip()), _sort_dir(direction.strip() or "desc")))
    else:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise errors.InvalidFilter(
                detail="Number of sort dirs does not match the number of sort keys")
        keys = keys or ["created_at"]
        dirs = dirs or ["desc"]
        pairs = [(k, dirs[i] if len(dirs) > 1 else dirs[0]) for i, k in enumerate(keys)]
    # Glance: the tie-breakers follow the one direction given, else they descend.
    given = [d for _, d in pairs] if sort is not None else dirs
    default_dir = given[0] if len(given) == 1 else "desc"
    for key in ("created_at", "id"):
        if key not in {k for k, _ in pairs}:
            pairs.append((key, default_dir))
    return pairs


def _bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise errors.InvalidFilter(detail=f"Invalid value '{value}' for '{name}' filter. "
                                          "Valid values are 'true' or 'false'.")
    return value.lower() == "true"


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidFilter(detail="Unable to filter on a range with a non-numeric "
                                          f"value ({name}).") from None


def _time(name: str, expression: str) -> tuple[str, dt.datetime]:
    op, threshold = "eq", expression
    if _parse_time(expression) is None and ":" in expression:
        op, _, threshold = expression.partition(":")
    if op not in _TIME_OPS:
        raise errors.InvalidFilter(detail="Unable to filter on a unknown operator.")
    parsed = _parse_time(threshold)
    if parsed is None:
        raise errors.InvalidFilter(
            detail=f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.')
    return op, parsed


def _parse_time(text: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    ops = {"gt": column > value, "gte": column >= value, "eq": column == value,
           "neq": column != value, "lt": column < value, "lte": column <= value}
    result: ColumnElement[bool] = ops[op]
    return result


def _split_in(value: str) -> list[str]:
    if value.count('"') % 2:
        raise errors.InvalidFilter(detail="Invalid filter value: quotes are not closed.")
    return [(m.group(1) or m.group(2) or "").replace('\\"', '"')
            for m in _QUOTED.finditer(value)]


def _conditions(filters: dict[str, str], tags: list[str]) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [
        ImageRow.os_hidden == _bool("os_hidden", filters.pop("os_hidden", "false"))]
    if "protected" in filters:
        conds.append(ImageRow.protected == _bool("protected", filters.pop("protected")))
    for key in ("size_min", "size_max"):
        if key in filters:
            bound = _int(key, filters.pop(key))
            conds.append(ImageRow.size >= bound if key == "size_min" else ImageRow.size <= bound)
    for key in ("created_at", "updated_at"):
        if key in filters:
            op, when = _time(key, filters.pop(key))
            conds.append(_compare(getattr(ImageRow, key), op, when))
    for key in _IN_FILTERS:
        if key in filters:
            op, sep, rest = filters.pop(key).partition(":")
            column = getattr(ImageRow, key)
            if sep and op == "in":
                conds.append(column.in_(_split_in(rest)))
            elif sep and op == "eq":
                conds.append(column == rest)
            elif sep and key != "name":
                raise errors.InvalidFilter(detail=f"Unable to filter by unknown operator '{op}'.")
            else:
                conds.append(column == f"{op}{sep}{rest}")
    for key in _COLUMN_FILTERS:
        if key in filters:
            value: Any = filters.pop(key)
            conds.append(getattr(ImageRow, key) == (_int(key, value) if key in _INT_COLUMNS
                                                    else value))
    for tag in tags:
        conds.append(exists().where(TagRow.image_id == ImageRow.id, TagRow.value == tag))
    for name, value in filters.items():
        conds.append(exists().where(PropertyRow.image_id == ImageRow.id,
                                    PropertyRow.name == name, PropertyRow.value == value))
    return conds


def _visibility(ctx: RequestContext, query: ListQuery) -> list[ColumnElement[bool]]:
    project = ctx.project_id
    conds: list[ColumnElement[bool]] = []
    if not access.sees_everything(ctx):
        member = [MemberRow.image_id == ImageRow.id, MemberRow.member == (project or "")]
        if query.member_status != "all":
            member.append(MemberRow.status == query.member_status)
        readable = [ImageRow.visibility.in_(("public", "community")),
                    and_(ImageRow.visibility == "shared", exists().where(*member))]
        if project is not None:
            readable.append(ImageRow.owner == project)
        conds.append(or_(*readable))
    if query.visibility is not None:
        if query.visibility != "all":
            conds.append(ImageRow.visibility == query.visibility)
    elif project is None:
        conds.append(ImageRow.visibility != "community")
    else:
        # Community images appear in default lists only for their owner.
        conds.append(or_(ImageRow.owner == project, ImageRow.visibility != "community"))
    return conds


def _sort_expr(key: str) -> Any:
    column = getattr(ImageRow, key)
    return func.coalesce(column, literal(_NULL_AS[key])) if key in _NULL_AS else column


def _after(marker: ImageRow, sort: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows strictly after `marker` in the order `sort` gives."""
    alternatives = []
    for i, (key, direction) in enumerate(sort):
        equal = [_sort_expr(k) == _marker_value(marker, k) for k, _ in sort[:i]]
        value = _marker_value(marker, key)
        beyond = _sort_expr(key) > value if direction == "asc" else _sort_expr(key) < value
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives) if alternatives else false()


def _marker_value(marker: ImageRow, key: str) -> Any:
    value = getattr(marker, key)
    return _NULL_AS[key] if value is None and key in _NULL_AS else value


async def list_images(deps: ImageDeps, ctx: RequestContext,
                      params: list[tuple[str, str]]) -> ImagePage:
    query = parse(params, default_limit=deps.config.limit_param_default,
                  max_limit=deps.config.api_limit_max)
    async with deps.read() as session:
        deps.policy.authorize("image:get_images", ctx, {"project_id": ctx.project_id})
        statement = select(ImageRow).where(*query.conditions, *_visibility(ctx, query))
        if query.marker is not None:
            marker = await session.get(ImageRow, query.marker)
            if marker is None or not await access.may_see(session, ctx, marker):
                raise errors.InvalidFilter(detail=f"No image found with ID {query.marker}")
            statement = statement.where(_after(marker, query.sort))
        order = [_sort_expr(k).asc() if d == "asc" else _sort_expr(k).desc()
                 for k, d in query.sort]
        rows = list((await session.execute(
            statement.order_by(*order).limit(query.limit))).scalars())
        images = await access.to_images(session, rows)
    full = bool(rows) and len(rows) == query.limit
    return ImagePage(images=images, next_marker=rows[-1].id if full else None)
