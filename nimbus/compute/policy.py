"""Compute's default rules (Nova's defaults, secure-RBAC flavour): admins manage flavors and see
everything; project members act on their project; readers read it; keypairs belong to users."""

from __future__ import annotations

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
OWNER_USER = "user_id:%(user_id)s"

DEFAULTS: dict[str, str] = {
    "admin_api": ADMIN,
    "admin_or_member": f"{ADMIN} or {PROJECT_MEMBER}",
    "admin_or_reader": f"{ADMIN} or {PROJECT_READER}",
    # flavors: anyone authenticated reads; admins write
    "os_compute_api:flavors": "@",
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": "@",
    "os_compute_api:os-flavor-extra-specs:show": "@",
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    # keypairs: a user's own, or any user's for an admin
    "os_compute_api:os-keypairs:index": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:show": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:create": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:delete": f"{ADMIN} or {OWNER_USER}",
}
