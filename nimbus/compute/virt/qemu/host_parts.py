"""`HostParts`: what QemuDriver's migration mixins use of the driver itself, declared once.

The mixins (cold_migration, live_migration) live in their own modules to keep driver.py
small; each inherits this instead of restating the driver's methods it calls."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from nimbus.compute.virt.driver import GuestInfo, GuestSpec
from nimbus.compute.virt.qemu.instance import Instance

if TYPE_CHECKING:
    from nimbus.compute.virt.qemu.driver import QemuConfig


class HostParts(abc.ABC):
    config: QemuConfig
    instances_dir: Path

    @abc.abstractmethod
    def _instance(self, uuid: str) -> Instance: ...

    @abc.abstractmethod
    def _exclusive(self, uuid: str) -> AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    def _running(self, inst: Instance) -> bool: ...

    @abc.abstractmethod
    async def _lay_out(self, inst: Instance, guest: GuestSpec, *, new_disk: bool = True) -> None: ...

    @abc.abstractmethod
    async def _start(self, inst: Instance, *, incoming: str | None = None) -> None: ...

    @abc.abstractmethod
    async def _stop(self, inst: Instance, *, graceful: float) -> None: ...

    @abc.abstractmethod
    async def _remove(self, inst: Instance) -> None: ...

    @abc.abstractmethod
    async def _info(self, inst: Instance) -> GuestInfo: ...

    @abc.abstractmethod
    async def _create(self, guest: GuestSpec, *, power_on: bool,
                      root_disk: Callable[[Instance], Awaitable[None]] | None = None) -> GuestInfo: ...
