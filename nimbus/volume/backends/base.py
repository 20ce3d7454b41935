"""The volume backend seam: where a host keeps volume data.

    backend = BACKENDS["file"](settings.volume_dir / host, capacity_gb=1000)
    await backend.create("9d3c...", size_gb=1)
    await backend.create_snapshot("5e1a...", volume_id="9d3c...")
    info = await backend.connection_info("9d3c...", connector={"host": "node1"})
    await backend.delete("9d3c...")

A backend knows nothing of HTTP, RPC or the database. Every creating operation either completes
or leaves nothing behind (its data is written aside and moved into place), and deletes are
idempotent, so the manager may repeat an operation after a lost message or a restart. Sizes are
GiB. A file backend keeps qcow2 files; an LVM backend would keep logical volumes and thin
snapshots behind the same methods.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Capacity:
    total_gb: int
    free_gb: int
    # What the scheduler may match against a volume type's extra specs.
    capabilities: dict[str, Any] = dataclasses.field(default_factory=dict)


class BackendFailed(Exception):
    """An operation failed; the message says why, for the volume's error reason."""


class VolumeBackend(abc.ABC):
    name: str

    @abc.abstractmethod
    async def capacity(self) -> Capacity:
        """What this backend holds and has left, for the scheduler."""

    @abc.abstractmethod
    async def create(self, volume_id: str, size_gb: int) -> None:
        """A blank volume of `size_gb`."""

    @abc.abstractmethod
    async def create_from_file(self, volume_id: str, size_gb: int, source: Path,
                               source_format: str) -> None:
        """A volume holding the disk image at `source` (in `source_format`, qemu-img's name),
        grown to `size_gb`; BackendFailed when the image does not fit or cannot be read."""

    @abc.abstractmethod
    async def clone(self, volume_id: str, size_gb: int, source_volume_id: str) -> None:
        """A copy of another volume of this backend, grown to `size_gb`."""

    @abc.abstractmethod
    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        """A point-in-time copy of a volume that outlives later writes to it."""

    @abc.abstractmethod
    async def create_from_snapshot(self, volume_id: str, size_gb: int, snapshot_id: str) -> None:
        """A volume holding a snapshot's data, grown to `size_gb`."""

    @abc.abstractmethod
    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """Put the snapshot's data back in the volume, at the volume's `size_gb`; the volume is
        either wholly reverted or unchanged."""

    @abc.abstractmethod
    async def delete(self, volume_id: str) -> None:
        """Remove a volume's data; nothing to remove is not an error."""

    @abc.abstractmethod
    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove a snapshot's data; nothing to remove is not an error."""

    @abc.abstractmethod
    async def extend(self, volume_id: str, size_gb: int) -> None:
        """Grow a volume to `size_gb` (never shrinks)."""

    @abc.abstractmethod
    async def export_to_file(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """Write the volume's data to `dest` as a `dest_format` disk image (upload to image)."""

    @abc.abstractmethod
    async def connection_info(self, volume_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        """How the host described by `connector` reaches the volume (os-brick's shape:
        `driver_volume_type` and `data`)."""

    @abc.abstractmethod
    async def list_volumes(self) -> set[str]:
        """The ids of the volumes this backend holds, for reconciliation."""
