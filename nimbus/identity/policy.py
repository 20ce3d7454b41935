"""Identity's default rules. Admins manage everything; others see themselves and their scope.

Targets are passed as {"target": {"user": {...}, "project": {...}, ...}}.
"""

from __future__ import annotations

ADMIN = "role:admin"
OWNER = "user_id:%(target.user.id)s"

DEFAULTS: dict[str, str] = {
    "admin_required": ADMIN,
    "service_or_admin": "rule:admin_required or role:service",
    # tokens
    "identity:validate_token": "rule:service_or_admin or token_subject_user:True",
    "identity:check_token": "rule:service_or_admin or token_subject_user:True",
    "identity:revoke_token": "rule:service_or_admin or token_subject_user:True",
    # domains
    # Anyone may read the domain they are scoped to, or that holds their project (Keystone).
    "identity:get_domain": (f"{ADMIN} or domain_id:%(target.domain.id)s"
                            " or project_domain_id:%(target.domain.id)s"),
    "identity:list_domains": ADMIN,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    # projects
    "identity:get_project": f"{ADMIN} or project_id:%(target.project.id)s",
    "identity:list_projects": ADMIN,
    "identity:list_user_projects": f"{ADMIN} or {OWNER}",
    "identity:create_project": ADMIN,
    "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN,
    "identity:project_tags": f"{ADMIN} or project_id:%(target.project.id)s",
    "identity:update_project_tags": ADMIN,
    # users
    "identity:get_user": f"{ADMIN} or {OWNER}",
    "identity:list_users": ADMIN,
    "identity:create_user": ADMIN,
    "identity:update_user": ADMIN,
    "identity:delete_user": ADMIN,
    "identity:change_password": f"{ADMIN} or {OWNER}",
    "identity:list_groups_for_user": f"{ADMIN} or {OWNER}",
    # groups
    "identity:get_group": ADMIN,
    "identity:list_groups": ADMIN,
    "identity:create_group": ADMIN,
    "identity:update_group": ADMIN,
    "identity:delete_group": ADMIN,
    "identity:list_users_in_group": ADMIN,
    "identity:add_user_to_group": ADMIN,
    "identity:remove_user_from_group": ADMIN,
    "identity:check_user_in_group": ADMIN,
    # roles, implied roles and assignments
    "identity:get_role": ADMIN,
    "identity:list_roles": ADMIN,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:implied_roles": ADMIN,
    "identity:check_grant": ADMIN,
    "identity:list_grants": ADMIN,
    "identity:create_grant": ADMIN,
    "identity:revoke_grant": ADMIN,
    "identity:list_role_assignments": f"{ADMIN} or user_id:%(target.filter_user_id)s",
    # catalog
    "identity:get_region": "@",
    "identity:list_regions": "@",
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": ADMIN,
    "identity:list_services": ADMIN,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": ADMIN,
    "identity:list_endpoints": ADMIN,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,
    # application credentials and credentials
    "identity:application_credentials": f"{ADMIN} or {OWNER}",
    "identity:create_application_credential": OWNER,
    "identity:credentials": f"{ADMIN} or {OWNER}",
    "identity:list_credentials": "@",
    "identity:revocation_list": ADMIN,
}
