"""Response shapes, by microversion: the data-driven half of Placement's versioning."""

from __future__ import annotations

from typing import Any

from nimbus.placement.service.allocations import Held
from nimbus.placement.service.candidates import Candidate, Summary
from nimbus.placement.service.common import Provider
from nimbus.placement.service.inventories import Inventory

Version = tuple[int, int]

# (since, relation) of the links a provider shows.
_PROVIDER_LINKS = (((1, 0), "inventories"), ((1, 0), "usages"), ((1, 1), "aggregates"),
                   ((1, 6), "traits"), ((1, 11), "allocations"))


def provider(p: Provider, version: Version, prefix: str) -> dict[str, Any]:
    url = f"{prefix}/resource_providers/{p.uuid}"
    body: dict[str, Any] = {
        "uuid": p.uuid, "name": p.name, "generation": p.generation,
        "links": [{"rel": "self", "href": url}] + [
            {"rel": rel, "href": f"{url}/{rel}"} for since, rel in _PROVIDER_LINKS
            if version >= since]}
    if version >= (1, 14):
        body["parent_provider_uuid"] = p.parent_uuid
        body["root_provider_uuid"] = p.root_uuid
    return body


def inventory(inv: Inventory) -> dict[str, Any]:
    return {"total": inv.total, "reserved": inv.reserved, "min_unit": inv.min_unit,
            "max_unit": inv.max_unit, "step_size": inv.step_size,
            "allocation_ratio": inv.allocation_ratio}


def inventories(generation: int, found: list[Inventory]) -> dict[str, Any]:
    return {"resource_provider_generation": generation,
            "inventories": {inv.resource_class: inventory(inv) for inv in found}}


def one_inventory(generation: int, inv: Inventory) -> dict[str, Any]:
    return {**inventory(inv), "resource_provider_generation": generation}


def resource_class(name: str, prefix: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": f"{prefix}/resource_classes/{name}"}]}


def consumer_allocations(held: Held | None, version: Version) -> dict[str, Any]:
    if held is None:
        return {"allocations": {}}
    body: dict[str, Any] = {"allocations": {
        uuid: {"generation": generation, "resources": resources}
        for uuid, (generation, resources) in held.by_provider.items()}}
    if version >= (1, 12):
        body["project_id"] = held.project_id
        body["user_id"] = held.user_id
    if version >= (1, 28):
        body["consumer_generation"] = held.generation
    if version >= (1, 38):
        body["consumer_type"] = held.consumer_type or "unknown"
    return body


def provider_allocations(generation: int, found: dict[str, tuple[int, dict[str, int]]],
                         version: Version) -> dict[str, Any]:
    allocations: dict[str, Any] = {}
    for consumer, (consumer_generation, resources) in found.items():
        allocations[consumer] = {"resources": resources}
        if version >= (1, 28):
            allocations[consumer]["consumer_generation"] = consumer_generation
    return {"resource_provider_generation": generation, "allocations": allocations}


def candidates(found: list[Candidate], summaries: list[Summary], version: Version) -> dict[str, Any]:
    if version >= (1, 12):
        requests: list[dict[str, Any]] = []
        for c in found:
            entry: dict[str, Any] = {"allocations": {
                uuid: {"resources": resources} for uuid, resources in c.allocations.items()}}
            if version >= (1, 34):
                entry["mappings"] = c.mappings
            requests.append(entry)
    else:
        requests = [{"allocations": [
            {"resource_provider": {"uuid": uuid}, "resources": resources}
            for uuid, resources in c.allocations.items()]} for c in found]
    provider_summaries: dict[str, Any] = {}
    for s in summaries:
        summary: dict[str, Any] = {"resources": {
            rc: {"capacity": capacity, "used": used} for rc, (capacity, used) in s.resources.items()}}
        if version >= (1, 17):
            summary["traits"] = s.traits
        if version >= (1, 29):
            summary["parent_provider_uuid"] = s.parent_uuid
            summary["root_provider_uuid"] = s.root_uuid
        provider_summaries[s.uuid] = summary
    return {"allocation_requests": requests, "provider_summaries": provider_summaries}
