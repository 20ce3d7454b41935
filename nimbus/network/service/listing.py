"""Neutron's list semantics over resource dicts: filters on any attribute (a key given twice
means either value), tag filters, sort keys, and marker/limit pages with `<resources>_links`.

Lists are filtered in Python after the project scope has been applied in SQL: every attribute,
including computed ones (`subnets`, `fixed_ips`, `tags`), filters the same way.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from nimbus.network import errors
from nimbus.network import validators as v

_CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags",
            "tags-any", "not-tags", "not-tags-any"}

Params = Sequence[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class ListQuery:
    filters: dict[str, list[str]]
    tags: dict[str, set[str]]
    sorts: list[tuple[str, bool]]
    limit: int | None
    marker: str | None
    page_reverse: bool


def parse(params: Params) -> ListQuery:
    filters: dict[str, list[str]] = {}
    tags: dict[str, set[str]] = {}
    for key, value in params:
        if key in ("tags", "tags-any", "not-tags", "not-tags-any"):
            tags.setdefault(key, set()).update(t for t in value.split(",") if t)
        elif key not in _CONTROL and value:
            filters.setdefault(key, []).append(value)
    sort_keys = [value for key, value in params if key == "sort_key" and value]
    sort_dirs = [value for key, value in params if key == "sort_dir" and value]
    if sort_dirs and len(sort_keys) != len(sort_dirs):
        raise errors.HTTPBadRequest(detail="The number of sort_keys and sort_dirs must be same")
    if not sort_dirs:
        sort_dirs = ["asc"] * len(sort_keys)
    bad_dirs = [d for d in sort_dirs if d not in ("asc", "desc")]
    if bad_dirs:
        raise errors.HTTPBadRequest(detail=f"{bad_dirs} is invalid value for sort_dirs, valid "
                                           "value is 'asc' and 'desc'")
    limit_text = dict(params).get("limit", "0") or "0"
    try:
        limit = int(limit_text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise errors.HTTPBadRequest(
            detail=f"Limit must be an integer 0 or greater and not '{limit_text}'")
    return ListQuery(filters=filters, tags=tags,
                     sorts=[(k, d == "asc") for k, d in zip(sort_keys, sort_dirs, strict=True)],
                     limit=limit or None, marker=dict(params).get("marker") or None,
                     page_reverse=dict(params).get("page_reverse", "").lower() == "true")


def _matches_value(actual: Any, wanted: str) -> bool:
    if isinstance(actual, bool):
        try:
            return v.boolean(wanted) is actual
        except v.Invalid:
            return False
    if isinstance(actual, int):
        return str(actual) == wanted
    if isinstance(actual, list):
        return any(_matches_value(item, wanted) for item in actual)
    if isinstance(actual, dict):
        key, _, value = wanted.partition("=")
        if key.endswith("_substr"):
            return value in str(actual.get(key.removesuffix("_substr"), ""))
        return key in actual and str(actual[key]) == value
    return actual is not None and str(actual) == wanted


def _matches(item: dict[str, Any], query: ListQuery) -> bool:
    for key, wanted in query.filters.items():
        if key not in item:
            continue  # Neutron ignores filters on attributes it does not know
        actual = item[key]
        if key == "fixed_ips":
            # fixed_ips=ip_address=a&fixed_ips=subnet_id=b: every condition holds for the port.
            if not all(_matches_value(actual, w) for w in wanted):
                return False
        elif not any(_matches_value(actual, w) for w in wanted):
            return False
    tags = set(item.get("tags") or ())
    rules = query.tags
    if "tags" in rules and not rules["tags"] <= tags:
        return False
    if "tags-any" in rules and not rules["tags-any"] & tags:
        return False
    if "not-tags" in rules and rules["not-tags"] <= tags:
        return False
    return not ("not-tags-any" in rules and rules["not-tags-any"] & tags)


def _compare(sorts: list[tuple[str, bool]], a: dict[str, Any], b: dict[str, Any]) -> int:
    for key, ascending in sorts:
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            result = (x is not None) - (y is not None)
        else:
            result = (x > y) - (x < y)
        if result:
            return result if ascending else -result
    return 0


def apply(items: list[dict[str, Any]], query: ListQuery, *, url: str, params: Params,
          id_key: str = "id") -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The page of `items` the query asks for, and the links to the pages around it."""
    if query.sorts and items:
        unknown = [k for k, _ in query.sorts if k not in items[0]]
        if unknown:
            raise errors.HTTPBadRequest(detail=f"{unknown} is invalid attribute for sort_keys")
    selected = [item for item in items if _matches(item, query)]
    sorts = list(query.sorts)
    if id_key not in {k for k, _ in sorts}:
        sorts.append((id_key, True))
    selected.sort(key=functools.cmp_to_key(functools.partial(_compare, sorts)))
    if not query.limit:
        return selected, []
    index = -1
    if query.marker:
        for index, item in enumerate(selected):  # noqa: B007 - the index is the result
            if item[id_key] == query.marker:
                break
    if query.page_reverse:
        page = selected[max(index - query.limit, 0):max(index, 0)]
    else:
        page = selected[index + 1:index + 1 + query.limit]
    return page, _links(page, query, url, params, id_key)


def _links(page: list[dict[str, Any]], query: ListQuery, url: str, params: Params,
           id_key: str) -> list[dict[str, str]]:
    assert query.limit
    base = [(k, val) for k, val in params if k not in ("marker", "page_reverse")]
    links = []
    if not (len(page) < query.limit and not query.page_reverse):
        marker = [("marker", page[-1][id_key])] if page else []
        links.append({"rel": "next", "href": f"{url}?{urlencode(base + marker)}"})
    if not (len(page) < query.limit and query.page_reverse):
        marker = [("marker", page[0][id_key])] if page else []
        links.append({"rel": "previous",
                      "href": f"{url}?{urlencode(base + marker + [('page_reverse', 'True')])}"})
    return links
