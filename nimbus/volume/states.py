"""Volume and snapshot statuses, and which operations each admits (Cinder's rules).

    creating -> available -> reserved/attaching -> in-use -> detaching -> available
    available -> extending | uploading | deleting | backing-up ...
    any step may end in error, error_extending or error_deleting
"""

from __future__ import annotations

CREATING = "creating"
AVAILABLE = "available"
RESERVED = "reserved"
ATTACHING = "attaching"
IN_USE = "in-use"
DETACHING = "detaching"
EXTENDING = "extending"
UPLOADING = "uploading"
DELETING = "deleting"
REVERTING = "reverting"
RESTORING = "restoring"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"
ERROR_RESTORING = "error_restoring"

# What os-reset_status accepts (Cinder's valid_status for volumes and snapshots).
VOLUME_STATUSES = frozenset({
    CREATING, AVAILABLE, RESERVED, ATTACHING, IN_USE, DETACHING, EXTENDING, UPLOADING, DELETING,
    ERROR, ERROR_DELETING, ERROR_EXTENDING, ERROR_RESTORING, "maintenance", "backing-up",
    "restoring-backup", "downloading", "retyping", "awaiting-transfer", "error_managing",
    "managing", "error_backing-up", REVERTING})
SNAPSHOT_STATUSES = frozenset({CREATING, AVAILABLE, DELETING, ERROR, ERROR_DELETING,
                               "unmanaging", "backing-up", "restoring"})
ATTACH_STATUSES = frozenset({"attached", "detached", "attaching", "detaching", "error_attaching",
                             "error_detaching", "reserved"})

DELETABLE = frozenset({AVAILABLE, ERROR, ERROR_RESTORING, ERROR_EXTENDING, "error_managing"})
FORCE_DELETABLE = DELETABLE | {CREATING, ERROR_DELETING, DELETING, EXTENDING, UPLOADING,
                               RESERVED, ATTACHING, DETACHING, "maintenance"}
SNAPSHOT_DELETABLE = frozenset({AVAILABLE, ERROR})
