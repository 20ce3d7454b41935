"""Two QEMU hosts on this machine for the migration tests: each a QemuDriver with its own state
directory and image cache, one guest that writes a mark into its root disk, and how to read
that mark back from a host's copy of the disk."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from nimbus.compute.virt.driver import GuestSpec, VolumeConnection
from nimbus.compute.virt.qemu import QemuConfig, QemuDriver
from nimbus.compute.virt.qemu.instance import Instance
from nimbus.compute.virt.qemu.process import live_pid
from nimbus.guestimage import GuestImage

UUID = "6f0c2a4e-51d3-4b8e-9a7f-2c4d6e8f0a13"
# Written by the guest into its root disk, far past the image's data: only its overlay holds it,
# so it reaches the destination by the block copy or not at all.
MARK_OFFSET_MB = 900
MARK = b"NIMBUS-LIVE-MIGRATION-MARK"
WRITE_MARK = (b"#!/bin/sh\nprintf NIMBUS-LIVE-MIGRATION-MARK | dd of=/dev/vda bs=1M seek=%d "
              b"conv=notrunc 2>/dev/null && sync && echo mark written\n" % MARK_OFFSET_MB)


@dataclasses.dataclass
class Host:
    driver: QemuDriver
    image: Path  # this host's cached copy of the guest image

    def instance(self) -> Instance:
        return Instance(self.driver.instances_dir / UUID)

    def console(self) -> str:
        path = self.instance().console
        return path.read_text(errors="replace") if path.exists() else ""

    def pid(self) -> int | None:
        inst = self.instance()
        return live_pid(inst.pid_file, inst.marker)


def make_host(root: Path, name: str, image: GuestImage) -> Host:
    cache = root / "cache" / name
    cache.mkdir(parents=True)
    shutil.copyfile(image.disk, cache / "guest.qcow2")
    driver = QemuDriver(QemuConfig(hostname=name, state_dir=root / "qemu" / name,
                                   probe_kernel=image.kernel))
    return Host(driver, cache / "guest.qcow2")


def spec(host: Host, volumes: tuple[VolumeConnection, ...] = ()) -> GuestSpec:
    return GuestSpec(uuid=UUID, name="mover", vcpus=1, memory_mb=128, root_gb=1,
                     image_path=host.image, image_format="qcow2", user_data=WRITE_MARK,
                     volumes=volumes)


def disk_mark(host: Host) -> bytes:
    """What the guest wrote at MARK_OFFSET_MB of its root disk, read from the host's overlay."""
    out = subprocess.run(["qemu-io", "-U", "-r", "-f", "qcow2", "-c",
                          f"read -v {MARK_OFFSET_MB << 20} {len(MARK)}",
                          str(host.instance().disk)], check=True, capture_output=True,
                         text=True).stdout
    # "38400000:  4e 49 4d ...  NIM...": the hex columns, up to the text column.
    return bytes(int(word, 16) for line in out.splitlines() if line[:8].isalnum()
                 and line[8:9] == ":" for word in line[9:].split("  ")[1].split())
