"""Build the test guest once into a cache directory: vmlinuz, initrd.gz and disk.qcow2.

A stamp records the recipe (a hash of this package's own source, the init script included), so
a second build with the same recipe returns at once without asking apt anything.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nimbus.guestimage import cpio, disk, modules, packages
from nimbus.guestimage.errors import GuestImageError, require_tools, run

KERNEL_FILE = "vmlinuz"
INITRD_FILE = "initrd.gz"
DISK_FILE = "disk.qcow2"
STAMP_FILE = "stamp.json"
# What `-kernel/-initrd` boots need on top of console=ttyS0; the disk form has it in syslinux.cfg.
KERNEL_CMDLINE = "console=ttyS0 quiet panic=-1"


@dataclass(frozen=True)
class GuestImage:
    """The built image in its cache directory, and what it was built from."""

    kernel: Path
    initrd: Path
    disk: Path
    kernel_package: str
    busybox_version: str
    cached: bool
    seconds: float


def build_guest_image(cache_dir: Path, *, rebuild: bool = False) -> GuestImage:
    """The guest image in `cache_dir`, built now unless a build of the same recipe is there."""
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Two builders (make up, a test) may start together; the second waits, then finds the stamp.
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recipe = _recipe_hash()
        stamp = None if rebuild else _read_stamp(cache_dir, recipe)
        if stamp is None:
            stamp = _build(cache_dir, recipe)
            cached = False
        else:
            cached = True
    return GuestImage(kernel=cache_dir / KERNEL_FILE, initrd=cache_dir / INITRD_FILE,
                      disk=cache_dir / DISK_FILE, kernel_package=stamp["kernel_package"],
                      busybox_version=stamp["busybox_version"], cached=cached,
                      seconds=time.monotonic() - started)


def _build(cache_dir: Path, recipe: str) -> dict[str, str]:
    require_tools()
    (cache_dir / STAMP_FILE).unlink(missing_ok=True)
    work = cache_dir / "build"
    shutil.rmtree(work, ignore_errors=True)
    kernel_package = packages.kernel_package()
    debs = packages.download([kernel_package, packages.BUSYBOX_PACKAGE], cache_dir / "debs")
    root = work / "root"
    packages.extract(debs[kernel_package], root / "kernel")
    packages.extract(debs[packages.BUSYBOX_PACKAGE], root / "busybox")

    kernel_version = kernel_package.removeprefix("linux-image-")
    vmlinuz = root / "kernel" / "boot" / f"vmlinuz-{kernel_version}"
    if not vmlinuz.is_file():
        raise GuestImageError(f"{kernel_package} has no /boot/vmlinuz-{kernel_version}")
    shutil.copyfile(vmlinuz, work / KERNEL_FILE)
    _write_initrd(root, kernel_version, work / INITRD_FILE)
    disk.build_disk(work / KERNEL_FILE, work / INITRD_FILE, work / DISK_FILE, work)

    for name in (KERNEL_FILE, INITRD_FILE, DISK_FILE):
        (work / name).replace(cache_dir / name)
    shutil.rmtree(work)
    stamp = {"recipe": recipe, "kernel_package": kernel_package,
             "busybox_version": debs[packages.BUSYBOX_PACKAGE].name.split("_")[1].replace("%3a", ":")}
    # Written last: a build that stopped halfway leaves no stamp, so the next one starts over.
    (cache_dir / STAMP_FILE).write_text(json.dumps(stamp, indent=1) + "\n")
    return stamp


def _write_initrd(root: Path, kernel_version: str, target: Path) -> None:
    busybox = root / "busybox" / "bin" / "busybox"
    files = modules.module_files(root / "kernel" / "lib" / "modules" / kernel_version)
    order = modules.load_order(files)
    entries = [cpio.directory(d) for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc",
                                           "sys", "run", "tmp", "mnt", "mnt/config", "etc", "etc/acpi",
                                           "etc/acpi/PWRF", "lib", "lib/modules")]
    entries.append(cpio.char_device("dev/console", 5, 1))
    entries.append(cpio.file("bin/busybox", busybox.read_bytes(), executable=True))
    for applet in run([str(busybox), "--list-full"]).split():
        if applet != "bin/busybox":
            entries.append(cpio.symlink(applet, "/bin/busybox"))
    entries.append(cpio.file("init", _resource("init.sh"), executable=True))
    entries.append(cpio.file("etc/udhcpc.script", _resource("udhcpc.sh"), executable=True))
    entries.append(cpio.file("etc/acpi/PWRF/00000080", b"#!/bin/sh\npoweroff -f\n", executable=True))
    entries.append(cpio.file("etc/modules.load", "".join(f"{m}\n" for m in order).encode()))
    entries += [cpio.file(f"lib/modules/{m}.ko", files[m].read_bytes()) for m in order]
    cpio.write_gzip(entries, target)


def _resource(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def _recipe_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.iterdir()):
        if path.suffix in (".py", ".sh"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _read_stamp(cache_dir: Path, recipe: str) -> dict[str, str] | None:
    try:
        stamp: dict[str, str] = json.loads((cache_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return None
    complete = all((cache_dir / name).is_file() for name in (KERNEL_FILE, INITRD_FILE, DISK_FILE))
    return stamp if complete and stamp.get("recipe") == recipe else None
