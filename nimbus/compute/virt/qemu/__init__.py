"""The QEMU driver: real guests, one detached QEMU each (see driver.py for the layout)."""

from nimbus.compute.virt.qemu.driver import QemuConfig, QemuDriver
from nimbus.compute.virt.qemu.errors import BootFailed, QemuError, QemuUnavailable

__all__ = ["BootFailed", "QemuConfig", "QemuDriver", "QemuError", "QemuUnavailable"]
