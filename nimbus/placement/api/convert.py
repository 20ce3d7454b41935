"""From request bodies (any microversion's shape) to what the service layer takes."""

from __future__ import annotations

import dataclasses
from typing import Any

from nimbus.placement import schemas
from nimbus.placement.service.allocations import ConsumerClaim
from nimbus.placement.service.inventories import InventorySpec

_SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(InventorySpec))


def spec(fields: schemas.InventoryFields) -> InventorySpec:
    return InventorySpec(**{name: getattr(fields, name) for name in _SPEC_FIELDS})


def claim(consumer: str, body: Any, version: tuple[int, int]) -> ConsumerClaim:
    """One consumer's wanted allocations from any version's body shape."""
    if isinstance(body.allocations, list):
        wanted = {a.resource_provider.uuid: dict(a.resources) for a in body.allocations}
    else:
        wanted = {uuid: dict(a.resources) for uuid, a in body.allocations.items()}
    return ConsumerClaim(
        consumer=consumer, allocations=wanted,
        project_id=getattr(body, "project_id", None), user_id=getattr(body, "user_id", None),
        generation=getattr(body, "consumer_generation", None),
        consumer_type=getattr(body, "consumer_type", None) if version >= (1, 38) else None)
