"""Block storage's default rules (Cinder's secure-RBAC defaults): project members act on their
project's volumes, readers read them; admins manage types, quotas, services and any project."""

from __future__ import annotations

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"

_MEMBER = "rule:admin_or_member"
_READER = "rule:admin_or_reader"

DEFAULTS: dict[str, str] = {
    "admin_api": ADMIN,
    "admin_or_member": f"{ADMIN} or {PROJECT_MEMBER}",
    "admin_or_reader": f"{ADMIN} or {PROJECT_READER}",
    # volumes
    "volume:create": _MEMBER,
    "volume:create_from_image": _MEMBER,
    "volume:get": _READER,
    "volume:get_all": _READER,
    "volume:update": _MEMBER,
    "volume:delete": _MEMBER,
    "volume:force_delete": ADMIN,
    "volume:extend": _MEMBER,
    "volume:extend_attached_volume": _MEMBER,
    "volume:update_readonly_flag": _MEMBER,
    "volume:update_volume_bootable": _MEMBER,
    "volume:revert_to_snapshot": _MEMBER,
    "volume:copy_volume_to_image": _MEMBER,
    "volume:get_all_tenants": ADMIN,
    "volume_extension:volume_admin_actions:reset_status": ADMIN,
    "volume_extension:volume_admin_actions:force_detach": ADMIN,
    "volume_extension:volume_host_attribute": ADMIN,
    "volume_extension:volume_mig_status_attribute": ADMIN,
    "volume:get_volume_metadata": _READER,
    "volume:create_volume_metadata": _MEMBER,
    "volume:update_volume_metadata": _MEMBER,
    "volume:delete_volume_metadata": _MEMBER,
    "volume_extension:volume_image_metadata:show": _READER,
    "volume_extension:volume_image_metadata:set": _MEMBER,
    "volume_extension:volume_image_metadata:remove": _MEMBER,
    "volume_extension:volume_actions:reserve": _MEMBER,
    "volume_extension:volume_actions:unreserve": _MEMBER,
    "volume_extension:volume_actions:initialize_connection": _MEMBER,
    "volume_extension:volume_actions:terminate_connection": _MEMBER,
    "volume_extension:volume_actions:attach": _MEMBER,
    "volume_extension:volume_actions:detach": _MEMBER,
    "volume_extension:volume_actions:begin_detaching": _MEMBER,
    "volume_extension:volume_actions:roll_detaching": _MEMBER,
    # snapshots
    "volume:create_snapshot": _MEMBER,
    "volume:get_snapshot": _READER,
    "volume:get_all_snapshots": _READER,
    "volume:update_snapshot": _MEMBER,
    "volume:delete_snapshot": _MEMBER,
    "volume:snapshot_metadata": _MEMBER,
    "volume:get_snapshot_metadata": _READER,
    "volume_extension:snapshot_admin_actions:reset_status": ADMIN,
    "volume_extension:snapshot_admin_actions:force_delete": ADMIN,
    # attachments (3.27+)
    "volume:attachment_create": _MEMBER,
    "volume:attachment_update": _MEMBER,
    "volume:attachment_complete": _MEMBER,
    "volume:attachment_delete": _MEMBER,
    "volume:attachment_get": _READER,
    # volume types: anyone reads public ones; admins write and see private ones
    "volume_extension:types_manage": ADMIN,
    "volume_extension:type_get": "@",
    "volume_extension:type_get_all": "@",
    "volume_extension:types_extra_specs:index": "@",
    "volume_extension:types_extra_specs:show": "@",
    "volume_extension:types_extra_specs:create": ADMIN,
    "volume_extension:types_extra_specs:update": ADMIN,
    "volume_extension:types_extra_specs:delete": ADMIN,
    "volume_extension:volume_type_access": ADMIN,
    "volume_extension:volume_type_access:addProjectAccess": ADMIN,
    "volume_extension:volume_type_access:removeProjectAccess": ADMIN,
    # quotas, limits, zones, services
    "volume_extension:quotas:show": _READER,
    "volume_extension:quotas:update": ADMIN,
    "volume_extension:quotas:delete": ADMIN,
    "limits_extension:used_limits": _READER,
    "volume_extension:availability_zone_list": "@",
    "volume_extension:services:index": ADMIN,
    "volume_extension:services:update": ADMIN,
    "scheduler_extension:scheduler_stats:get_pools": ADMIN,
    "message:get_all": _READER,
    "message:get": _READER,
    "message:delete": _MEMBER,
    "snapshot_extension:snapshot_actions:update_snapshot_status": _MEMBER,
    "volume:retype": _MEMBER,
    "volume_extension:capabilities": ADMIN,
}
