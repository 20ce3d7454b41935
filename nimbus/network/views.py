"""Response shapes: the attributes a caller may read, narrowed by `fields=`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nimbus.core.context import RequestContext
from nimbus.network.deps import NetworkDeps

# Attributes with a `get_<resource>:<attr>` rule: shown only to callers it allows.
GUARDED: dict[str, tuple[str, ...]] = {
    "network": ("provider:network_type", "provider:physical_network", "provider:segmentation_id"),
    "port": ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"),
}


def fields_of(params: Sequence[tuple[str, str]]) -> list[str]:
    return [value for key, value in params if key == "fields" and value]


def shape(deps: NetworkDeps, ctx: RequestContext, resource: str, item: dict[str, Any],
          fields: Sequence[str] = ()) -> dict[str, Any]:
    shown = dict(item)
    for attr in GUARDED.get(resource, ()):
        target = {"project_id": item.get("project_id"), **item}
        if not deps.allowed(ctx, f"get_{resource}:{attr}", target):
            shown.pop(attr, None)
    if fields:
        shown = {k: val for k, val in shown.items() if k in fields}
    return shown


def shape_all(deps: NetworkDeps, ctx: RequestContext, resource: str,
              items: list[dict[str, Any]], fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [shape(deps, ctx, resource, item, fields) for item in items]
