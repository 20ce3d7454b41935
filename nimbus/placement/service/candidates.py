"""Allocation candidates: which sets of providers could satisfy a request, searched on a
snapshot (see `snapshot.py`).

A request is groups of resources with trait and aggregate constraints. The unsuffixed group
may spread its resource classes over one provider tree plus the sharing providers tied to it
by an aggregate; its required traits must be found, together, on the providers it uses. Each
suffixed group is satisfied by one provider. Candidates are searched tree by tree (the
"anchor"), combining one option per group, then filtered by group_policy, same_subtree and
combined capacity.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.placement import errors
from nimbus.placement.deps import PlacementDeps
from nimbus.placement.service import snapshot as snap
from nimbus.placement.service.common import unknown_resource_classes, unknown_traits
from nimbus.placement.service.snapshot import Node, Snapshot


@dataclasses.dataclass(frozen=True)
class RequestGroup:
    suffix: str = ""
    resources: tuple[tuple[str, int], ...] = ()
    # Each inner set: at least one of these traits (AND across sets).
    required: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()
    # Each inner set: member of at least one of these aggregates (AND across sets).
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggregates: frozenset[str] = frozenset()
    in_tree: str | None = None


@dataclasses.dataclass(frozen=True)
class CandidateQuery:
    groups: tuple[RequestGroup, ...]
    group_policy: str | None = None
    limit: int | None = None
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtrees: tuple[frozenset[str], ...] = ()
    # Before 1.29 a candidate may not use two providers of one tree.
    nested_aware: bool = True
    # Before 1.27 summaries show only the requested classes.
    all_resources_in_summaries: bool = True


@dataclasses.dataclass(frozen=True)
class Candidate:
    allocations: dict[str, dict[str, int]]     # provider uuid -> class -> amount
    mappings: dict[str, list[str]]             # group suffix -> provider uuids


@dataclasses.dataclass(frozen=True)
class Summary:
    uuid: str
    parent_uuid: str | None
    root_uuid: str
    resources: dict[str, tuple[int, int]]      # class -> (capacity, used)
    traits: list[str]


async def find_candidates(deps: PlacementDeps, ctx: RequestContext,
                          query: CandidateQuery) -> tuple[list[Candidate], list[Summary]]:
    deps.authorize(ctx, "allocation_candidates:list")
    async with deps.read() as session:
        await _check_names(session, query)
        data = await snap.load(session)
    return search(data, query)


async def _check_names(session: AsyncSession, query: CandidateQuery) -> None:
    classes = {rc for g in query.groups for rc, _ in g.resources}
    missing = await unknown_resource_classes(session, classes)
    if missing:
        raise errors.InvalidInput(detail="Invalid resource class in resources parameter: "
                                         f"No such resource class {missing[0]}.")
    traits = {t for g in query.groups for any_of in g.required for t in any_of}
    traits |= {t for g in query.groups for t in g.forbidden}
    traits |= query.root_required | query.root_forbidden
    missing = await unknown_traits(session, traits)
    if missing:
        raise errors.InvalidInput(detail=f"No such trait(s): {', '.join(missing)}.")


def search(data: Snapshot, query: CandidateQuery) -> tuple[list[Candidate], list[Summary]]:
    if _one_provider_each(data, query):
        candidates = _flat_candidates(data, query)
    else:
        found: dict[tuple[object, ...], Candidate] = {}
        for candidate in _all_candidates(data, query):
            key = (_freeze(candidate.allocations), _freeze(candidate.mappings))
            found.setdefault(key, candidate)
            if query.limit is not None and len(found) >= query.limit:
                break
        candidates = list(found.values())
    return candidates, _summaries(data, query, candidates)


def _one_provider_each(data: Snapshot, query: CandidateQuery) -> bool:
    """The scheduler's request on a cloud of plain compute nodes: one group asking for
    resources, on providers that are each a tree of their own and share nothing. Then every
    candidate is one provider taking the whole group, which `_flat_candidates` finds directly,
    in the order and with the result of the general search."""
    return (data.flat and len(query.groups) == 1 and not query.groups[0].suffix
            and bool(query.groups[0].resources) and not query.same_subtrees)


def _flat_candidates(data: Snapshot, query: CandidateQuery) -> list[Candidate]:
    group = query.groups[0]
    amounts = dict(group.resources)
    resources = dict(sorted(amounts.items()))
    in_tree = None
    if group.in_tree is not None:
        node = data.by_uuid.get(group.in_tree)
        if node is None:
            return []
        in_tree = node.id
    found: list[Candidate] = []
    for node in sorted(data.nodes.values(), key=lambda n: n.id):
        if in_tree is not None and node.id != in_tree:
            continue
        if (query.root_required or query.root_forbidden) and (
                not query.root_required <= node.traits or query.root_forbidden & node.traits):
            continue
        if (group.required or group.forbidden) and not _traits_ok(node.traits, group):
            continue
        if (group.member_of or group.forbidden_aggregates) and not _aggregates_ok(
                node.aggregates, group):
            continue
        stock = node.stock
        if not all(rc in stock and stock[rc].can_take(n) for rc, n in group.resources):
            continue
        found.append(Candidate(allocations={node.uuid: dict(resources)},
                               mappings={"": [node.uuid]}))
        if query.limit is not None and len(found) >= query.limit:
            break
    return found


def _freeze(mapping: dict[str, dict[str, int]] | dict[str, list[str]]) -> tuple[object, ...]:
    return tuple(sorted((k, repr(sorted(v.items()) if isinstance(v, dict) else sorted(v)))
                        for k, v in mapping.items()))


def _all_candidates(data: Snapshot, query: CandidateQuery) -> Iterator[Candidate]:
    in_tree_roots: dict[str, int] = {}
    for group in query.groups:
        if group.in_tree is not None:
            node = data.by_uuid.get(group.in_tree)
            if node is None:
                return
            in_tree_roots[group.suffix] = node.root_id
    sharing = [n for n in data.nodes.values() if n.shares]
    roots = sorted({n.root_id for n in data.nodes.values()})
    for root_id in roots:
        root = data.nodes[root_id]
        if not query.root_required <= root.traits or query.root_forbidden & root.traits:
            continue
        members = data.tree(root_id)
        tree_aggregates = frozenset().union(*(n.aggregates for n in members))
        pool = members + [s for s in sharing
                          if s.root_id != root_id and s.aggregates & tree_aggregates]
        yield from _tree_candidates(data, query, members, pool, in_tree_roots)


def _tree_candidates(data: Snapshot, query: CandidateQuery, members: list[Node], pool: list[Node],
                     in_tree_roots: dict[str, int]) -> Iterator[Candidate]:
    options: list[list[tuple[str, dict[int, dict[str, int]], list[int]]]] = []
    for group in query.groups:
        tree_root = in_tree_roots.get(group.suffix)
        if group.suffix:
            found = _suffixed_options(data, group, members, pool, tree_root)
        else:
            found = _unsuffixed_options(data, group, pool, tree_root)
        if not found:
            return
        options.append(found)
    for combo in itertools.product(*options):
        candidate = _combine(data, query, combo)
        if candidate is not None:
            yield candidate


Option = tuple[str, dict[int, dict[str, int]], list[int]]   # suffix, amounts, mapped providers


def _suffixed_options(data: Snapshot, group: RequestGroup, members: list[Node], pool: list[Node],
                      tree_root: int | None) -> list[Option]:
    """One provider for the whole group; a group without resources only marks a provider of
    the tree (for same_subtree)."""
    resources = dict(group.resources)
    found = []
    for node in (pool if resources else members):
        if tree_root is not None and node.root_id != tree_root:
            continue
        if not _traits_ok(node.traits, group) or not _aggregates_ok(node.aggregates, group):
            continue
        if all(rc in node.stock and node.stock[rc].can_take(n) for rc, n in resources.items()):
            found.append((group.suffix, {node.id: resources} if resources else {}, [node.id]))
    return found


def _unsuffixed_options(data: Snapshot, group: RequestGroup, pool: list[Node],
                        tree_root: int | None) -> list[Option]:
    """Each class from some provider of the pool; traits are judged on the providers used,
    together; an aggregate on a tree's root counts for the whole tree."""
    per_class: list[list[tuple[Node, str, int]]] = []
    for rc, amount in group.resources:
        fits = [(node, rc, amount) for node in pool
                if (tree_root is None or node.root_id == tree_root)
                and rc in node.stock and node.stock[rc].can_take(amount)
                and not node.traits & group.forbidden
                and _aggregates_ok(node.aggregates | data.nodes[node.root_id].aggregates, group)]
        if not fits:
            return []
        per_class.append(fits)
    found = []
    for choice in itertools.product(*per_class):
        used = {node.id: node for node, _, _ in choice}
        traits = frozenset().union(*(n.traits for n in used.values()))
        if not all(any_of & traits for any_of in group.required):
            continue
        amounts: dict[int, dict[str, int]] = {}
        for node, rc, amount in choice:
            amounts.setdefault(node.id, {})[rc] = amount
        found.append(("", amounts, list(used)))
    return found


def _traits_ok(traits: frozenset[str], group: RequestGroup) -> bool:
    return all(any_of & traits for any_of in group.required) and not traits & group.forbidden


def _aggregates_ok(aggregates: frozenset[str], group: RequestGroup) -> bool:
    return (all(any_of & aggregates for any_of in group.member_of)
            and not aggregates & group.forbidden_aggregates)


def _combine(data: Snapshot, query: CandidateQuery, combo: tuple[Option, ...]) -> Candidate | None:
    if query.group_policy == "isolate":
        chosen = [mapped[0] for suffix, _, mapped in combo if suffix]
        if len(set(chosen)) != len(chosen):
            return None
    totals: dict[int, dict[str, int]] = {}
    for _, amounts, _ in combo:
        for node_id, resources in amounts.items():
            into = totals.setdefault(node_id, {})
            for rc, amount in resources.items():
                into[rc] = into.get(rc, 0) + amount
    for node_id, resources in totals.items():
        stock = data.nodes[node_id].stock
        for rc, amount in resources.items():
            if stock[rc].used + amount > stock[rc].capacity or amount > stock[rc].max_unit:
                return None
    if not query.nested_aware:
        roots = [data.nodes[n].root_id for n in totals]
        if len(set(roots)) != len(roots):
            return None
    mappings: dict[str, list[int]] = {suffix: mapped for suffix, _, mapped in combo}
    for suffixes in query.same_subtrees:
        ids = {n for s in suffixes for n in mappings.get(s, [])}
        if not _same_subtree(data, ids):
            return None
    uuid = {n: data.nodes[n].uuid for n in totals}
    return Candidate(
        allocations={uuid[n]: dict(sorted(r.items())) for n, r in sorted(totals.items())},
        mappings={s: [data.nodes[n].uuid for n in ids] for s, ids in mappings.items()})


def _same_subtree(data: Snapshot, ids: set[int]) -> bool:
    """One of the providers is an ancestor of (or is) every other one."""
    if len(ids) <= 1:
        return True
    common = set.intersection(*(set(data.ancestors(data.nodes[n])) for n in ids))
    return bool(common & ids)


def _summaries(data: Snapshot, query: CandidateQuery, candidates: list[Candidate]) -> list[Summary]:
    used = {data.by_uuid[u] for c in candidates for u in c.allocations}
    if query.nested_aware:
        roots = {n.root_id for n in used}
        shown = [n for n in data.nodes.values() if n.root_id in roots]
    else:
        shown = sorted(used, key=lambda n: n.id)
    requested = {rc for g in query.groups for rc, _ in g.resources}
    return [Summary(
        uuid=n.uuid,
        parent_uuid=data.nodes[n.parent_id].uuid if n.parent_id in data.nodes else None,
        root_uuid=data.nodes[n.root_id].uuid,
        resources={rc: (s.capacity, s.used) for rc, s in sorted(n.stock.items())
                   if query.all_resources_in_summaries or rc in requested},
        traits=sorted(n.traits)) for n in shown]
