"""A bootable disk holding the kernel and initrd: MBR, one FAT16 partition, SYSLINUX.

SeaBIOS boots it from `-drive file=disk.qcow2,if=virtio` alone. Built in a plain file with tools
that take a byte offset (sfdisk, mkfs.fat --offset, mtools, syslinux --offset), so no loop
device and no mount: nothing needs root.
"""

from __future__ import annotations

from pathlib import Path

from nimbus.guestimage.errors import GuestImageError, run

MIB = 1024 * 1024
SECTOR = 512
PARTITION_START = 1 * MIB  # sector 2048, where partitioning tools have aligned since 2008
MIN_DISK_MIB = 32
MBR_CODE = Path("/usr/lib/syslinux/mbr/mbr.bin")
MBR_CODE_BYTES = 440  # the MBR's boot code; the partition table follows it

# The disk form has no -append: its kernel command line lives here.
SYSLINUX_CFG = """\
SERIAL 0 115200
DEFAULT nimbus
PROMPT 0
TIMEOUT 0
LABEL nimbus
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0 quiet panic=-1
"""


def build_disk(kernel: Path, initrd: Path, target: Path, workdir: Path) -> None:
    """Write a compressed qcow2 at `target` that boots `kernel` with `initrd` on ttyS0."""
    if not MBR_CODE.is_file():
        raise GuestImageError(f"{MBR_CODE} is missing: apt-get install -y syslinux-common")
    raw = workdir / "disk.raw"
    payload_mib = (kernel.stat().st_size + initrd.stat().st_size) // MIB + 1
    size = max(MIN_DISK_MIB, payload_mib + 16) * MIB
    with raw.open("wb") as disk:
        disk.truncate(size)
    run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", str(raw)],
        stdin=f"start={PARTITION_START // SECTOR}, type=e, bootable\n")
    partition = f"{raw}@@{PARTITION_START}"
    run(["mkfs.fat", "-F", "16", "-n", "NIMBUS", "--offset", str(PARTITION_START // SECTOR),
         str(raw), str((size - PARTITION_START) // 1024)])
    cfg = workdir / "syslinux.cfg"
    cfg.write_text(SYSLINUX_CFG)
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.gz"), (cfg, "syslinux.cfg")):
        run(["mcopy", "-i", partition, str(source), f"::{name}"])
    run(["syslinux", "--offset", str(PARTITION_START), "--install", str(raw)])
    with raw.open("r+b") as disk:
        disk.write(MBR_CODE.read_bytes()[:MBR_CODE_BYTES])
    run(["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", str(raw), str(target)])
    raw.unlink()
