"""Candidate search on snapshots: the shortcut for providers that are each a tree of their own
finds exactly what the general search finds, in the same order, with the same summaries."""

from __future__ import annotations

import dataclasses
import random

import pytest

from nimbus.placement import standard
from nimbus.placement.service.candidates import CandidateQuery, RequestGroup, search
from nimbus.placement.service.snapshot import Node, Snapshot, Stock

CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB", "CUSTOM_GPU")
TRAITS = ("HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "COMPUTE_STATUS_DISABLED", "CUSTOM_FAST")
AGGREGATES = ("agg-a", "agg-b", "agg-c")


def _stock(rng: random.Random) -> Stock:
    capacity = rng.choice((0, 2, 4, 8, 64, 64))
    return Stock(capacity=capacity, used=rng.choice((0, 0, 1, capacity)),
                 min_unit=rng.choice((1, 1, 1, 2)), max_unit=rng.choice((1, 4, 64, 64)),
                 step_size=rng.choice((1, 1, 1, 2)))


def _flat_snapshot(rng: random.Random) -> Snapshot:
    ids = rng.sample(range(1, 60), rng.randint(0, 12))
    nodes = {}
    for pid in ids:
        node = Node(pid, f"uuid-{pid:02d}", None, pid)
        node.stock = {rc: _stock(rng) for rc in CLASSES if rng.random() < 0.9}
        node.traits = frozenset(t for t in TRAITS if rng.random() < 0.3)
        node.aggregates = frozenset(a for a in AGGREGATES if rng.random() < 0.3)
        nodes[pid] = node
    return Snapshot(nodes, {n.uuid: n for n in nodes.values()})


def _some(rng: random.Random, names: tuple[str, ...], chance: float) -> frozenset[str]:
    return frozenset(n for n in names if rng.random() < chance)


def _query(rng: random.Random, data: Snapshot) -> CandidateQuery:
    resources = tuple((rc, rng.choice((1, 1, 1, 2, 3))) for rc in CLASSES if rng.random() < 0.4)
    if rng.random() < 0.1 and resources:  # a class asked twice: the last amount counts
        resources += ((resources[0][0], rng.choice((1, 2))),)
    uuids = [n.uuid for n in data.nodes.values()] + ["uuid-missing"]
    group = RequestGroup(
        resources=resources or (("VCPU", 1),),
        required=tuple(s for s in (_some(rng, TRAITS, 0.2) for _ in range(rng.choice((0, 0, 1)))) if s),
        forbidden=_some(rng, TRAITS, 0.15),
        member_of=tuple(s for s in (_some(rng, AGGREGATES, 0.4)
                                    for _ in range(rng.choice((0, 0, 1)))) if s),
        forbidden_aggregates=_some(rng, AGGREGATES, 0.1),
        in_tree=rng.choice(uuids) if rng.random() < 0.15 else None)
    return CandidateQuery(
        groups=(group,), group_policy=rng.choice((None, "none", "isolate")),
        limit=rng.choice((None, None, 1, 3)), root_required=_some(rng, TRAITS, 0.1),
        root_forbidden=_some(rng, TRAITS, 0.1), nested_aware=rng.random() < 0.7,
        all_resources_in_summaries=rng.random() < 0.7)


def _general(data: Snapshot) -> Snapshot:
    general = Snapshot(data.nodes, data.by_uuid)
    general.flat = False
    return general


def _shown(found: tuple[object, object]) -> str:
    """Order-sensitive: dict equality would not notice a different order."""
    candidates, summaries = found
    return repr(([dataclasses.asdict(c) for c in candidates],  # type: ignore[call-overload]
                 [dataclasses.asdict(s) for s in summaries]))  # type: ignore[call-overload]


@pytest.mark.parametrize("seed", range(10))
def test_flat_search_matches_general_search(seed: int) -> None:
    rng = random.Random(seed)
    found_any = 0
    for _ in range(300):
        data = _flat_snapshot(rng)
        assert data.flat
        query = _query(rng, data)
        fast = search(data, query)
        assert _shown(fast) == _shown(search(_general(data), query)), query
        found_any += bool(fast[0])
    assert found_any > 50  # the inputs are not all hopeless


def test_trees_and_sharing_are_not_flat() -> None:
    root, child = Node(1, "root", None, 1), Node(2, "child", 1, 1)
    assert not Snapshot({1: root, 2: child}, {"root": root, "child": child}).flat
    sharing = Node(3, "disk", None, 3, traits=frozenset({standard.SHARES_VIA_AGGREGATE}))
    assert not Snapshot({3: sharing}, {"disk": sharing}).flat
    assert Snapshot({1: root}, {"root": root}).flat
