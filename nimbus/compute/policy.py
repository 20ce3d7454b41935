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
    # servers: members act on their project's, readers read them; admins see every project's
    "os_compute_api:servers:create": "rule:admin_or_member",
    "os_compute_api:servers:create:forced_host": ADMIN,
    "os_compute_api:servers:index": "rule:admin_or_reader",
    "os_compute_api:servers:detail": "rule:admin_or_reader",
    "os_compute_api:servers:index:get_all_tenants": ADMIN,
    "os_compute_api:servers:detail:get_all_tenants": ADMIN,
    "os_compute_api:servers:allow_all_filters": ADMIN,
    "os_compute_api:servers:show": "rule:admin_or_reader",
    "os_compute_api:servers:show:host_status": ADMIN,
    "os_compute_api:servers:update": "rule:admin_or_member",
    "os_compute_api:servers:delete": "rule:admin_or_member",
    "os_compute_api:os-deferred-delete:force": "rule:admin_or_member",
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:server-metadata:index": "rule:admin_or_reader",
    "os_compute_api:server-metadata:update": "rule:admin_or_member",
    "os_compute_api:os-server-tags:index": "rule:admin_or_reader",
    "os_compute_api:os-server-tags:update": "rule:admin_or_member",
    "os_compute_api:ips:index": "rule:admin_or_reader",
    "os_compute_api:servers:stop": "rule:admin_or_member",
    "os_compute_api:servers:start": "rule:admin_or_member",
    "os_compute_api:servers:reboot": "rule:admin_or_member",
    "os_compute_api:os-pause-server:pause": "rule:admin_or_member",
    "os_compute_api:os-pause-server:unpause": "rule:admin_or_member",
    "os_compute_api:os-suspend-server:suspend": "rule:admin_or_member",
    "os_compute_api:os-suspend-server:resume": "rule:admin_or_member",
    "os_compute_api:os-lock-server:lock": "rule:admin_or_member",
    "os_compute_api:os-lock-server:unlock": "rule:admin_or_member",
    "os_compute_api:os-console-output": "rule:admin_or_member",
    "os_compute_api:os-instance-actions:list": "rule:admin_or_reader",
    "os_compute_api:os-instance-actions:show": "rule:admin_or_reader",
    "os_compute_api:os-instance-actions:events": ADMIN,
    "os_compute_api:os-instance-actions:events:details": ADMIN,
    # keypairs: a user's own, or any user's for an admin
    "os_compute_api:os-keypairs:index": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:show": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:create": f"{ADMIN} or {OWNER_USER}",
    "os_compute_api:os-keypairs:delete": f"{ADMIN} or {OWNER_USER}",
}
