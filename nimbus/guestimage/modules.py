"""Kernel modules the guest loads, in an order that satisfies their dependencies.

Debian's cloud kernel builds virtio, isofs, the ACPI button and the IDE CD-ROM path as modules.
The extracted .deb has no modules.dep (depmod runs in postinst), so the order comes from each
module's own `depends` field: what `modinfo -F depends` prints, read here from the module's
`.modinfo` ELF section so that the build does not need kmod on the host.
"""

from __future__ import annotations

import struct
from pathlib import Path

from nimbus.guestimage.errors import GuestImageError

# What the guest needs, by purpose; their dependencies are added by load_order().
WANTED_MODULES = (
    "virtio_pci",   # the virtio PCI transport every virtio device sits on
    "virtio_net",   # NICs
    "virtio_blk",   # the root disk, volumes and a virtio config drive
    "virtio_rng",   # entropy, so nothing in the guest blocks waiting for it
    "isofs",        # the config drive's ISO 9660 file system
    "ata_piix",     # an IDE CD-ROM config drive ...
    "sr_mod",       # ... and its SCSI CD-ROM driver
    "button",       # the ACPI power button: system_powerdown arrives as its event
    "evdev",        # ... read by acpid from /dev/input/event*
)


def module_files(modules_root: Path) -> dict[str, Path]:
    """Every .ko under a kernel's module tree, by canonical name ('-' and '_' are the same)."""
    return {_canonical(p.name.removesuffix(".ko")): p for p in modules_root.rglob("*.ko")}


def load_order(files: dict[str, Path], wanted: tuple[str, ...] = WANTED_MODULES) -> list[str]:
    """The wanted modules and everything they depend on, each after its dependencies."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise GuestImageError(f"kernel modules depend on each other in a cycle through {name}")
        if name not in files:
            raise GuestImageError(f"the kernel package has no module {name}")
        visiting.add(name)
        for dependency in _depends(files[name]):
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in wanted:
        visit(_canonical(name))
    return order


def _depends(path: Path) -> list[str]:
    for entry in _modinfo_section(path).split(b"\0"):
        key, _, value = entry.partition(b"=")
        if key == b"depends":
            return [_canonical(name) for name in value.decode().split(",") if name]
    return []


def _modinfo_section(path: Path) -> bytes:
    """The `.modinfo` section of a little-endian ELF64 module: NUL-separated key=value strings."""
    elf = path.read_bytes()
    if elf[:6] != b"\x7fELF\x02\x01":
        raise GuestImageError(f"{path} is not a little-endian ELF64 kernel module")
    (section_table,) = struct.unpack_from("<Q", elf, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", elf, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        base = section_table + index * entry_size
        (name,) = struct.unpack_from("<I", elf, base)
        offset, size = struct.unpack_from("<QQ", elf, base + 0x18)
        return name, offset, size

    _, names_offset, _ = section(names_index)
    for index in range(count):
        name, offset, size = section(index)
        if elf[names_offset + name:].startswith(b".modinfo\0"):
            return elf[offset:offset + size]
    raise GuestImageError(f"{path} has no .modinfo section")


def _canonical(name: str) -> str:
    return name.replace("-", "_")
