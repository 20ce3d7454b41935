"""The test guest image: built from Debian packages, booted with plain QEMU as the driver will.

Boots both forms the image service will hold: the bootable disk alone (SeaBIOS -> SYSLINUX ->
kernel) and kernel + initrd. The guest must reach its login marker with a DHCP address from
QEMU's user-mode network, and power off on an ACPI power-button press sent over QMP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu.qmp import QMPClient

from nimbus.guestimage import KERNEL_CMDLINE, LOGIN_MARKER, GuestImage, build_guest_image

QEMU = shutil.which("qemu-system-x86_64")
GENISOIMAGE = shutil.which("genisoimage")
pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")]

# The machine is shared and loaded: boots measured 5-30 s under TCG; allow far more.
BOOT_TIMEOUT = 240.0
# QEMU's user-mode network hands the first guest this address by DHCP.
SLIRP_GUEST_ADDRESS = "10.0.2.15/24"
CONFIG_UUID = "6f1c2b8e-5a57-4c36-9d0e-2f64a1d3c7b9"


# KVM prints the kernel banner within a second; a loaded machine under TCG needs a few.
KVM_PROBE_TIMEOUT = 20.0


def kvm_works(kernel: Path) -> bool:
    """Whether a guest really runs under KVM here: start the kernel and see it print its banner.

    /dev/kvm can exist, and even create VMs and run real-mode code, where Linux never gets as
    far as its first line: this sandbox is such a place.
    """
    if QEMU is None or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        console = Path(tmp, "console")
        proc = subprocess.Popen([QEMU, "-accel", "kvm", "-m", "128", "-nodefaults", "-display", "none",
                                 "-no-user-config", "-no-reboot", "-serial", f"file:{console}",
                                 "-kernel", str(kernel), "-append", "console=ttyS0 earlyprintk=ttyS0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + KVM_PROBE_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                if console.exists() and b"Linux version" in console.read_bytes():
                    return True
                time.sleep(0.1)
            return False
        finally:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    built = build_guest_image(tmp_path_factory.mktemp("guest-image"))
    print(f"\nguest image built in {built.seconds:.1f}s from {built.kernel_package}: "
          + ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MiB"
                      for p in (built.kernel, built.initrd, built.disk)))
    return built


@pytest.fixture(scope="module")
def accel(image: GuestImage) -> str:
    return "kvm" if kvm_works(image.kernel) else "tcg"


def start_qemu(workdir: Path, accel: str, boot: list[str]) -> subprocess.Popen[bytes]:
    assert QEMU is not None
    argv = [QEMU, "-accel", accel, "-m", "128", "-nodefaults", "-display", "none",
            "-no-user-config", "-no-reboot",  # a kernel panic (panic=-1) ends QEMU, not a loop
            "-serial", f"file:{workdir / 'console.log'}",
            "-qmp", f"unix:{workdir / 'qmp.sock'},server=on,wait=off",
            "-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0", *boot]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=(workdir / "qemu.stderr").open("wb"))


@pytest.fixture
def qemu_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()  # by its pid: only the QEMU this test started
            proc.wait()


async def wait_for_marker(proc: subprocess.Popen[bytes], console: Path) -> float:
    """Seconds from now until the login marker shows on the console; fails if QEMU exits first."""
    started = time.monotonic()
    while time.monotonic() - started < BOOT_TIMEOUT:
        if LOGIN_MARKER in console_text(console):
            return time.monotonic() - started
        if proc.poll() is not None:
            pytest.fail(f"QEMU exited ({proc.returncode}) before the marker:\n{console_text(console)}")
        await asyncio.sleep(0.2)
    pytest.fail(f"no {LOGIN_MARKER!r} within {BOOT_TIMEOUT}s:\n{console_text(console)}")


async def wait_for_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            pytest.fail(f"QEMU did not exit within {timeout}s")
        await asyncio.sleep(0.1)
    return proc.returncode


def console_text(console: Path) -> str:
    return console.read_text(errors="replace") if console.exists() else "(no console log)"


def test_guest_image_second_build_is_a_cache_hit(image: GuestImage) -> None:
    before = {p: p.stat().st_mtime_ns for p in (image.kernel, image.initrd, image.disk)}
    again = build_guest_image(image.disk.parent)
    assert again.cached and not image.cached
    assert {p: p.stat().st_mtime_ns for p in (again.kernel, again.initrd, again.disk)} == before
    assert again.kernel_package == image.kernel_package


async def test_guest_image_disk_boots_and_powers_off_on_acpi(
        image: GuestImage, accel: str, tmp_path: Path,
        qemu_processes: list[subprocess.Popen[bytes]]) -> None:
    # snapshot=on: the guest's writes go to a temporary overlay, never to the cached image.
    proc = start_qemu(tmp_path, accel, ["-drive", f"file={image.disk},if=virtio,format=qcow2,snapshot=on"])
    qemu_processes.append(proc)
    seconds = await wait_for_marker(proc, tmp_path / "console.log")
    print(f"\ndisk boot to marker: {seconds:.1f}s ({accel}, load {os.getloadavg()[0]:.1f})")
    console = console_text(tmp_path / "console.log")
    assert f"nimbus-guest: address eth0 {SLIRP_GUEST_ADDRESS}" in console
    assert "nimbus-guest: no config drive" in console

    qmp = QMPClient("guest-image-test")
    await qmp.connect(str(tmp_path / "qmp.sock"))
    try:
        with qmp.listener(("SHUTDOWN",)) as events:
            await qmp.execute("system_powerdown")
            shutdown = await asyncio.wait_for(events.get(), timeout=60)
        assert await wait_for_exit(proc, timeout=30) == 0
    finally:
        # QEMU closes the socket as it exits, and disconnect() re-raises that end of file.
        with contextlib.suppress(EOFError):
            await qmp.disconnect()
    # guest: True means the guest powered itself off (acpid), not QEMU on its own.
    data = shutdown["data"]
    assert isinstance(data, dict) and data["guest"] is True


def make_config_drive(workdir: Path) -> Path:
    """An OpenStack config drive as Nova writes it: ISO 9660 with Rock Ridge, label config-2."""
    assert GENISOIMAGE is not None
    latest = workdir / "config" / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(
        {"uuid": CONFIG_UUID, "hostname": "cfg-guest", "name": "cfg-guest"}))
    (latest / "user_data").write_text("#!/bin/sh\necho hello from user_data on $(hostname)\n")
    iso = workdir / "config.iso"
    subprocess.run([GENISOIMAGE, "-quiet", "-o", str(iso), "-V", "config-2", "-r", "-J",
                    str(workdir / "config")], check=True)
    return iso


@pytest.mark.skipif(GENISOIMAGE is None, reason="genisoimage (the config drive) is not installed")
async def test_guest_image_kernel_and_initrd_read_the_config_drive_and_honour_halt(
        image: GuestImage, accel: str, tmp_path: Path,
        qemu_processes: list[subprocess.Popen[bytes]]) -> None:
    # The config drive as an IDE CD-ROM: the ata_piix, sr_mod, cdrom and isofs modules' path.
    proc = start_qemu(tmp_path, accel, [
        "-kernel", str(image.kernel), "-initrd", str(image.initrd),
        "-append", f"{KERNEL_CMDLINE} guest.halt=1",
        "-drive", f"file={make_config_drive(tmp_path)},if=ide,media=cdrom,format=raw"])
    qemu_processes.append(proc)
    seconds = await wait_for_marker(proc, tmp_path / "console.log")
    print(f"\nkernel+initrd boot to marker: {seconds:.1f}s ({accel}, load {os.getloadavg()[0]:.1f})")
    # guest.halt=1: the guest powers off by itself right after the marker.
    assert await wait_for_exit(proc, timeout=60) == 0
    console = console_text(tmp_path / "console.log")
    assert f"nimbus-guest: address eth0 {SLIRP_GUEST_ADDRESS}" in console
    assert f"nimbus-guest: config drive /dev/sr0: hostname cfg-guest uuid {CONFIG_UUID}" in console
    assert "user_data: hello from user_data on cfg-guest" in console
    assert "nimbus-guest: halting (guest.halt=1)" in console
