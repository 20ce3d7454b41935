"""The file backend: each volume and snapshot a qcow2 file in one directory per host.

    <state>/volumes/<host>/volume-<id>.qcow2
    <state>/volumes/<host>/snapshot-<id>.qcow2

Snapshots and clones are full qcow2 copies made by `qemu-img convert` (no backing chains), so
any file can be deleted in any order. New files are written under a dot-name and renamed into
place, so a failed or interrupted operation leaves no volume behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nimbus.volume.backends import qemu_img
from nimbus.volume.backends.base import BackendFailed, Capacity, VolumeBackend

_VOLUME, _SNAPSHOT, _SUFFIX = "volume-", "snapshot-", ".qcow2"


class FileBackend(VolumeBackend):
    name = "file"

    def __init__(self, root: Path, *, capacity_gb: int) -> None:
        self.root = root
        self.capacity_gb = capacity_gb
        root.mkdir(parents=True, exist_ok=True)

    def volume_path(self, volume_id: str) -> Path:
        return self.root / f"{_VOLUME}{volume_id}{_SUFFIX}"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.root / f"{_SNAPSHOT}{snapshot_id}{_SUFFIX}"

    @contextlib.asynccontextmanager
    async def _writing(self, dest: Path) -> AsyncIterator[Path]:
        """A scratch path beside `dest`, renamed onto it when the block succeeds."""
        partial = dest.with_name(f".{dest.name}.part")
        try:
            yield partial
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)

    def _existing(self, path: Path, what: str) -> Path:
        if not path.exists():
            raise BackendFailed(f"{what} {path.name} is missing on this backend")
        return path

    async def capacity(self) -> Capacity:
        """Thin qcow2 files promise `capacity_gb`; free is bounded by the real disk too."""
        disk_free = shutil.disk_usage(self.root).free // qemu_img.GIB
        used = sum(p.stat().st_size for p in self.root.glob(f"*{_SUFFIX}")) // qemu_img.GIB
        free = max(0, min(self.capacity_gb - used, disk_free))
        return Capacity(total_gb=self.capacity_gb, free_gb=free,
                        capabilities={"volume_backend_name": self.name,
                                      "storage_protocol": "file", "vendor_name": "Nimbus",
                                      "driver_version": "1.0", "multiattach": True,
                                      "thin_provisioning_support": True})

    async def create(self, volume_id: str, size_gb: int) -> None:
        async with self._writing(self.volume_path(volume_id)) as partial:
            await qemu_img.create(partial, size_gb)

    async def create_from_file(self, volume_id: str, size_gb: int, source: Path,
                               source_format: str) -> None:
        needed = await qemu_img.virtual_size(source, source_format)
        if needed > size_gb * qemu_img.GIB:
            raise BackendFailed(f"the image's virtual size ({needed} bytes) is larger than the "
                                f"volume ({size_gb} GiB)")
        async with self._writing(self.volume_path(volume_id)) as partial:
            await qemu_img.convert(source, source_format, partial, "qcow2")
            await qemu_img.resize(partial, size_gb)

    async def _copy(self, source: Path, dest: Path, size_gb: int | None) -> None:
        async with self._writing(dest) as partial:
            await qemu_img.convert(source, "qcow2", partial, "qcow2")
            if size_gb is not None:
                await qemu_img.resize(partial, size_gb)

    async def clone(self, volume_id: str, size_gb: int, source_volume_id: str) -> None:
        source = self._existing(self.volume_path(source_volume_id), "source volume")
        await self._copy(source, self.volume_path(volume_id), size_gb)

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        source = self._existing(self.volume_path(volume_id), "volume")
        await self._copy(source, self.snapshot_path(snapshot_id), None)

    async def create_from_snapshot(self, volume_id: str, size_gb: int, snapshot_id: str) -> None:
        source = self._existing(self.snapshot_path(snapshot_id), "snapshot")
        await self._copy(source, self.volume_path(volume_id), size_gb)

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        self._existing(self.volume_path(volume_id), "volume")
        source = self._existing(self.snapshot_path(snapshot_id), "snapshot")
        await self._copy(source, self.volume_path(volume_id), size_gb)

    async def delete(self, volume_id: str) -> None:
        self.volume_path(volume_id).unlink(missing_ok=True)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshot_path(snapshot_id).unlink(missing_ok=True)

    async def extend(self, volume_id: str, size_gb: int) -> None:
        await qemu_img.resize(self._existing(self.volume_path(volume_id), "volume"), size_gb)

    async def export_to_file(self, volume_id: str, dest: Path, dest_format: str) -> None:
        source = self._existing(self.volume_path(volume_id), "volume")
        await qemu_img.convert(source, "qcow2", dest, dest_format)

    async def connection_info(self, volume_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        path = self._existing(self.volume_path(volume_id), "volume")
        return {"driver_volume_type": "file",
                "data": {"device_path": str(path.resolve()), "format": "qcow2",
                         "name": path.name, "volume_id": volume_id}}

    async def list_volumes(self) -> set[str]:
        return {p.name[len(_VOLUME):-len(_SUFFIX)] for p in self.root.glob(f"{_VOLUME}*{_SUFFIX}")}
