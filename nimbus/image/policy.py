"""Image's default rules, after Glance's secure-RBAC defaults.

Who may *see* an image (owner, public, community, shared with a member) is decided in
`service/access.py`, the same way for one image and for lists; these rules say which roles may
act. Targets are the image as a dict ({"owner", "visibility", ...}); member rules add
"member_id". The service role (the compute agents' token) reads and downloads every image.
"""

from __future__ import annotations

ADMIN = "role:admin"
ADMIN_OR_SERVICE = "role:admin or role:service"
OWNER_MEMBER = "role:member and project_id:%(owner)s"

DEFAULTS: dict[str, str] = {
    "context_is_admin": ADMIN,
    "image:get_images": f"{ADMIN_OR_SERVICE} or role:reader",
    "image:get_image": f"{ADMIN_OR_SERVICE} or role:reader",
    "image:add_image": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:modify_image": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:delete_image": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:upload_image": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:download_image": f"{ADMIN_OR_SERVICE} or role:member",
    "image:publicize_image": ADMIN,
    "image:communitize_image": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:deactivate": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:reactivate": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:add_member": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:delete_member": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:get_member": f"{ADMIN_OR_SERVICE} or role:reader",
    "image:get_members": f"{ADMIN_OR_SERVICE} or role:reader",
    "image:modify_member": f"{ADMIN} or (role:member and project_id:%(member_id)s)",
    "image:get_image_tasks": f"{ADMIN} or ({OWNER_MEMBER})",
    "image:stores_info_detail": ADMIN,
}
