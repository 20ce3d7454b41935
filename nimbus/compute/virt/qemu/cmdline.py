"""The QEMU command line of one guest: small, explicit, nothing QEMU would add by default."""

from __future__ import annotations

from nimbus.compute.virt.driver import GuestSpec, VifSpec
from nimbus.compute.virt.qemu.instance import Instance


def nics(vifs: tuple[VifSpec, ...]) -> tuple[VifSpec, ...]:
    """The VIFs that become NICs: those the dataplane gave a tap."""
    return tuple(v for v in vifs if v.tap is not None)


def netns_of(vifs: tuple[VifSpec, ...]) -> str | None:
    spaces = {v.netns for v in nics(vifs) if v.netns is not None}
    if len(spaces) > 1:
        raise ValueError(f"a guest's taps must share one network namespace, not {sorted(spaces)}")
    return spaces.pop() if spaces else None


def argv(binary: str, accel: str, machine: str, guest: GuestSpec, inst: Instance) -> list[str]:
    cmd = [binary, "-name", guest.uuid, "-uuid", guest.uuid,
           # graphics=off makes SeaBIOS print to the serial port: its "No bootable device"
           # is how a bad image shows.
           "-machine", f"{machine},graphics=off", "-accel", accel,
           *(["-cpu", "host"] if accel == "kvm" else []),
           "-m", str(guest.memory_mb), "-smp", str(guest.vcpus),
           "-nodefaults", "-no-user-config", "-display", "none",
           "-boot", "strict=on",
           "-chardev", f"file,id=console,path={inst.console},append=on",
           "-serial", "chardev:console",
           "-qmp", f"unix:{inst.qmp_short},server=on,wait=off",
           "-pidfile", str(inst.pid_file), "-daemonize",
           # An IDE CD-ROM, as Nova attaches config drives on x86.
           "-drive", f"file={inst.config_drive},format=raw,if=ide,media=cdrom,readonly=on"]
    if guest.kernel_path is not None:  # a machine image: QEMU loads the kernel itself
        cmd += ["-kernel", str(guest.kernel_path), "-append", guest.kernel_cmdline]
        if guest.ramdisk_path is not None:
            cmd += ["-initrd", str(guest.ramdisk_path)]
    if guest.image_path is not None:  # else a volume with boot_index 0 is the root disk
        cmd += ["-blockdev", f"driver=file,node-name=root-file,filename={inst.disk}",
                "-blockdev", "driver=qcow2,node-name=root,file=root-file",
                # QEMU gives a -kernel boot the boot index 0 itself.
                "-device", ROOT_DEVICE if guest.kernel_path is None else ROOT_DISK]
    for i, vif in enumerate(nics(guest.vifs)):
        cmd += ["-netdev", f"tap,id=net{i},ifname={vif.tap},script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=net{i},mac={vif.mac},id=nic-{vif.port_id}"]
    return cmd


ROOT_DISK = "virtio-blk-pci,drive=root,id=root-disk"
ROOT_DEVICE = f"{ROOT_DISK},bootindex=0"


def rescued(argv: list[str], rescue_disk: str) -> list[str]:
    """`argv` booting from `rescue_disk` first, the guest's own disk second (/dev/vdb)."""
    if ROOT_DEVICE not in argv:
        raise ValueError("only a guest booted from an image can be rescued")
    at = argv.index("-blockdev")  # the root disk's first node: the rescue disk goes before it
    rescue = ["-blockdev", f"driver=file,node-name=rescue-file,filename={rescue_disk}",
              "-blockdev", "driver=qcow2,node-name=rescue,file=rescue-file",
              "-device", "virtio-blk-pci,drive=rescue,id=rescue-disk,bootindex=0"]
    own = [a if a != ROOT_DEVICE else ROOT_DISK for a in argv]
    return [*own[:at], *rescue, *own[at:]]
