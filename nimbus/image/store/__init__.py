"""Image stores, by the name `settings.image.store` gives (ARCHITECTURE: explicit dicts)."""

from __future__ import annotations

from nimbus.image.store.base import (
    DataNotFound,
    Store,
    StoreError,
    StoreFull,
    SupportsAdopt,
    SupportsLocalPath,
)
from nimbus.image.store.filesystem import FilesystemStore

STORES: dict[str, type[FilesystemStore]] = {"file": FilesystemStore}

__all__ = ["STORES", "DataNotFound", "FilesystemStore", "Store", "StoreError", "StoreFull",
           "SupportsAdopt", "SupportsLocalPath"]
