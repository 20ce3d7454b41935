"""Instance states and the API status they show as: one table, Nova's names.

`vm_state` is where an instance rests, `task_state` what is being done to it, `power_state`
what the hypervisor last said. Every change of task_state is a compare-and-swap on the
expected value (see service/instances.py), so two conflicting actions never both win.
"""

from __future__ import annotations

import enum


class VmState(enum.StrEnum):
    BUILDING = "building"
    ACTIVE = "active"
    STOPPED = "stopped"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    RESCUED = "rescued"
    RESIZED = "resized"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"
    SOFT_DELETED = "soft-delete"
    DELETED = "deleted"
    ERROR = "error"


class TaskState(enum.StrEnum):
    SCHEDULING = "scheduling"
    NETWORKING = "networking"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    SPAWNING = "spawning"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    REBOOTING = "rebooting"
    REBOOTING_HARD = "rebooting_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    RESCUING = "rescuing"
    UNRESCUING = "unrescuing"
    MIGRATING = "migrating"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    SHELVING = "shelving"
    SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
    SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_PENDING_UPLOAD = "image_pending_upload"
    IMAGE_UPLOADING = "image_uploading"
    IMAGE_BACKUP = "image_backup"
    REBUILDING = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
    REBUILD_SPAWNING = "rebuild_spawning"
    DELETING = "deleting"


class PowerState(enum.IntEnum):
    """Nova's numbers, which the API shows as OS-EXT-STS:power_state."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


_BY_VM_STATE: dict[VmState, str] = {
    VmState.BUILDING: "BUILD",
    VmState.ACTIVE: "ACTIVE",
    VmState.STOPPED: "SHUTOFF",
    VmState.PAUSED: "PAUSED",
    VmState.SUSPENDED: "SUSPENDED",
    VmState.RESCUED: "RESCUE",
    VmState.RESIZED: "VERIFY_RESIZE",
    VmState.SHELVED: "SHELVED",
    VmState.SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
    VmState.SOFT_DELETED: "SOFT_DELETED",
    VmState.DELETED: "DELETED",
    VmState.ERROR: "ERROR",
}

# A task in progress shows instead of the resting state, for these pairs only (Nova's table).
_BY_TASK: dict[tuple[VmState, TaskState], str] = {
    (VmState.ACTIVE, TaskState.REBOOTING): "REBOOT",
    (VmState.ACTIVE, TaskState.REBOOTING_HARD): "HARD_REBOOT",
    (VmState.STOPPED, TaskState.REBOOTING_HARD): "HARD_REBOOT",
    (VmState.ACTIVE, TaskState.REBUILDING): "REBUILD",
    (VmState.ACTIVE, TaskState.REBUILD_BLOCK_DEVICE_MAPPING): "REBUILD",
    (VmState.ACTIVE, TaskState.REBUILD_SPAWNING): "REBUILD",
    (VmState.STOPPED, TaskState.REBUILDING): "REBUILD",
    (VmState.STOPPED, TaskState.REBUILD_BLOCK_DEVICE_MAPPING): "REBUILD",
    (VmState.STOPPED, TaskState.REBUILD_SPAWNING): "REBUILD",
    (VmState.ERROR, TaskState.REBUILDING): "REBUILD",
    (VmState.ERROR, TaskState.REBUILD_BLOCK_DEVICE_MAPPING): "REBUILD",
    (VmState.ERROR, TaskState.REBUILD_SPAWNING): "REBUILD",
    (VmState.ACTIVE, TaskState.MIGRATING): "MIGRATING",
    (VmState.PAUSED, TaskState.MIGRATING): "MIGRATING",
    (VmState.ACTIVE, TaskState.RESIZE_PREP): "RESIZE",
    (VmState.ACTIVE, TaskState.RESIZE_MIGRATING): "RESIZE",
    (VmState.ACTIVE, TaskState.RESIZE_MIGRATED): "RESIZE",
    (VmState.ACTIVE, TaskState.RESIZE_FINISH): "RESIZE",
    (VmState.STOPPED, TaskState.RESIZE_PREP): "RESIZE",
    (VmState.STOPPED, TaskState.RESIZE_MIGRATING): "RESIZE",
    (VmState.STOPPED, TaskState.RESIZE_MIGRATED): "RESIZE",
    (VmState.STOPPED, TaskState.RESIZE_FINISH): "RESIZE",
    (VmState.RESIZED, TaskState.RESIZE_REVERTING): "REVERT_RESIZE",
    (VmState.ACTIVE, TaskState.DELETING): "ACTIVE",
}


def api_status(vm_state: str, task_state: str | None) -> str:
    """The `status` a server shows for its states; UNKNOWN for a pair Nova does not name."""
    try:
        vm = VmState(vm_state)
    except ValueError:
        return "UNKNOWN"
    if task_state is not None:
        try:
            found = _BY_TASK.get((vm, TaskState(task_state)))
        except ValueError:
            found = None
        if found is not None:
            return found
    return _BY_VM_STATE.get(vm, "UNKNOWN")


def vm_states_for_status(status: str) -> list[tuple[VmState, TaskState | None]] | None:
    """What a `?status=` filter matches, or None for a status Nova does not know."""
    status = status.upper()
    pairs: list[tuple[VmState, TaskState | None]] = [
        (vm, None) for vm, name in _BY_VM_STATE.items() if name == status]
    pairs += [(vm, task) for (vm, task), name in _BY_TASK.items() if name == status]
    return pairs or None
