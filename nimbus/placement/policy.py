"""Placement's default rules: an admin and service API, as in OpenStack.

Rule names are Placement's own, so an operator's policy file carries over.
"""

from __future__ import annotations

ADMIN_OR_SERVICE = "role:admin or role:service"

_RULES = (
    "resource_providers:list", "resource_providers:create", "resource_providers:show",
    "resource_providers:update", "resource_providers:delete",
    "resource_providers:inventories:list", "resource_providers:inventories:create",
    "resource_providers:inventories:show", "resource_providers:inventories:update",
    "resource_providers:inventories:delete",
    "resource_providers:aggregates:list", "resource_providers:aggregates:update",
    "resource_providers:usages", "resource_providers:allocations:list",
    "resource_providers:traits:list", "resource_providers:traits:update",
    "resource_providers:traits:delete",
    "resource_classes:list", "resource_classes:create", "resource_classes:show",
    "resource_classes:update", "resource_classes:delete",
    "traits:list", "traits:show", "traits:update", "traits:delete",
    "allocations:list", "allocations:manage", "allocations:update", "allocations:delete",
    "allocation_candidates:list", "usages", "reshaper:reshape",
)

DEFAULTS: dict[str, str] = {
    "admin_or_service": ADMIN_OR_SERVICE,
    **{f"placement:{name}": "rule:admin_or_service" for name in _RULES},
}
