"""Neutron's list semantics over dicts: filters, tag filters, sorting, marker/limit links."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.network import errors
from nimbus.network.service import listing

ITEMS: list[dict[str, Any]] = [
    {"id": "a", "name": "x", "shared": True, "mtu": 1500, "tags": ["t1", "t2"],
     "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.2"}]},
    {"id": "b", "name": "y", "shared": False, "mtu": 1400, "tags": ["t1"],
     "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.0.1.2"}]},
    {"id": "c", "name": "y", "shared": False, "mtu": 1500, "tags": [], "fixed_ips": []},
]


def _ids(query: str) -> list[str]:
    params = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    page, _ = listing.apply(ITEMS, listing.parse(params), url="u", params=params)  # type: ignore[arg-type]
    return [item["id"] for item in page]


@pytest.mark.parametrize(("query", "expected"), [
    ("name=y", ["b", "c"]),
    ("name=x&name=y&mtu=1500", ["a", "c"]),
    ("shared=true", ["a"]),
    ("shared=False", ["b", "c"]),
    ("fixed_ips=ip_address=10.0.1.2", ["b"]),
    ("fixed_ips=ip_address=10.0.0.2&fixed_ips=subnet_id=s2", []),
    ("fixed_ips=ip_address_substr=10.0", ["a", "b"]),
    ("tags=t1,t2", ["a"]),
    ("tags-any=t2&tags-any=t1", ["a", "b"]),
    ("not-tags=t1", ["c"]),
    ("not-tags-any=t2", ["b", "c"]),
    ("unknown=1", ["a", "b", "c"]),
    ("sort_key=mtu&sort_dir=asc&sort_key=name&sort_dir=desc", ["b", "c", "a"]),
])
def test_filters_and_sorts(query: str, expected: list[str]) -> None:
    assert _ids(query) == expected


def test_pages_follow_markers_with_links_both_ways() -> None:
    params = [("limit", "2")]
    first, links = listing.apply(ITEMS, listing.parse(params), url="http://n/v2.0/networks",
                                 params=params)
    params_next = [("limit", "2"), ("marker", "b")]
    second, last_links = listing.apply(ITEMS, listing.parse(params_next), url="u",
                                       params=params_next)

    assert [i["id"] for i in first] == ["a", "b"]
    assert {link["rel"]: link["href"] for link in links} == {
        "next": "http://n/v2.0/networks?limit=2&marker=b",
        "previous": "http://n/v2.0/networks?limit=2&marker=a&page_reverse=True"}
    assert [i["id"] for i in second] == ["c"]
    assert [link["rel"] for link in last_links] == ["previous"]


def test_bad_list_parameters_are_400() -> None:
    for params in ([("limit", "-1")], [("limit", "x")], [("sort_key", "a"), ("sort_dir", "up")],
                   [("sort_key", "a"), ("sort_key", "b"), ("sort_dir", "asc")]):
        with pytest.raises(errors.HTTPBadRequest):
            listing.parse(params)
    with pytest.raises(errors.HTTPBadRequest):
        listing.apply(ITEMS, listing.parse([("sort_key", "nope")]), url="u", params=[])
