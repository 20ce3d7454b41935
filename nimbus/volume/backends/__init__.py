"""Volume backends by name; `nimbus.cmd` picks one from `volume.backend`."""

from __future__ import annotations

from nimbus.volume.backends.base import BackendFailed, Capacity, VolumeBackend
from nimbus.volume.backends.file import FileBackend

BACKENDS: dict[str, type[FileBackend]] = {"file": FileBackend}

__all__ = ["BACKENDS", "BackendFailed", "Capacity", "FileBackend", "VolumeBackend"]
