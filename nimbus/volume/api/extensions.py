"""`GET /v3/{project_id}/extensions`: the Cinder extensions this API implements, and only those."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nimbus.core.http import Ctx
from nimbus.volume.api.common import PREFIX

router = APIRouter(prefix=PREFIX)

_UPDATED = "2023-08-31T00:00:00+00:00"
# (alias, name, description)
EXTENSIONS = [
    ("os-admin-actions", "AdminActions", "Enable admin actions."),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "Extended SnapshotAttributes support."),
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-services", "Services", "Services support."),
    ("os-snapshot-actions", "SnapshotActions", "Enable snapshot manager actions."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata",
     "Show image metadata associated with the volume."),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute",
     "Expose migration_status as an attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute",
     "Expose the internal project_id as an attribute of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
]


@router.get("/extensions")
async def list_extensions(project_id: str, ctx: Ctx) -> dict[str, Any]:
    return {"extensions": [{"alias": alias, "name": name, "description": description,
                            "updated": _UPDATED, "links": [], "namespace": ""}
                           for alias, name, description in EXTENSIONS]}
