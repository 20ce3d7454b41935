"""The QEMU driver against real QEMU: one guest taken through every power action, and guests
that cannot boot. Boots are few (each is 5-20 s under TCG on a loaded machine)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from nimbus.compute.states import PowerState
from nimbus.compute.virt.driver import GuestNotRunning, GuestSpec, VolumeConnection
from nimbus.compute.virt.qemu import BootFailed, QemuConfig, QemuDriver, QemuError
from nimbus.compute.virt.qemu.process import live_pid
from nimbus.guestimage import LOGIN_MARKER, GuestImage, build_guest_image
from tests.integration.qemu_helpers import wait_for

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")]

UUID = "3b1f6c9e-8d2a-4e57-9c1b-7a0e5d4f2c11"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    return build_guest_image(tmp_path_factory.mktemp("guest-image"))


def make_driver(state: Path, image: GuestImage) -> QemuDriver:
    return QemuDriver(QemuConfig(hostname="itest", state_dir=state, probe_kernel=image.kernel))


def spec(image_path: Path, fmt: str = "qcow2", uuid: str = UUID) -> GuestSpec:
    return GuestSpec(uuid=uuid, name="itest-guest", vcpus=1, memory_mb=128, root_gb=1,
                     image_path=image_path, image_format=fmt,
                     user_data=b"#!/bin/sh\necho hello from user_data\n",
                     metadata=(("role", "test"),))


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for init to reap it is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


async def states(driver: QemuDriver) -> dict[str, PowerState]:
    return {g.uuid: g.power_state for g in await driver.list_guests()}


async def test_qemu_guest_lives_through_every_power_action(image: GuestImage, tmp_path: Path) -> None:
    driver = make_driver(tmp_path, image)
    instance = tmp_path / "instances" / UUID
    console = instance / "console.log"
    try:
        info = await driver.spawn(spec(image.disk))
        assert info.power_state is PowerState.RUNNING
        await wait_for("login marker", lambda: LOGIN_MARKER in console.read_text(errors="replace"))
        out = await driver.console_output(UUID)
        # The config drive reached the guest: its hostname, uuid and user_data script.
        assert f"config drive /dev/sr0: hostname itest-guest uuid {UUID}" in out
        assert "user_data: hello from user_data" in out
        assert "\x1b" not in out  # SeaBIOS's terminal escapes are not part of the log
        assert len(await driver.console_output(UUID, max_bytes=100)) == 100

        assert (await driver.pause(UUID)).power_state is PowerState.PAUSED
        assert await states(driver) == {UUID: PowerState.PAUSED}
        assert (await driver.unpause(UUID)).power_state is PowerState.RUNNING

        pid = live_pid(instance / "qemu.pid", str(instance))
        assert (await driver.suspend(UUID)).power_state is PowerState.SUSPENDED
        assert pid is not None and live_pid(instance / "qemu.pid", str(instance)) is None
        assert (instance / "suspend.state").stat().st_size > 0
        assert (await driver.resume(UUID)).power_state is PowerState.RUNNING
        assert not (instance / "suspend.state").exists()

        # A new driver (the agent restarted) finds the running guest as it is.
        driver = make_driver(tmp_path, image)
        assert await states(driver) == {UUID: PowerState.RUNNING}

        # Soft reboot: ACPI power-off (the guest's acpid), then a fresh boot.
        assert (await driver.reboot(UUID, hard=False)).power_state is PowerState.RUNNING
        await wait_for("second login marker",
                       lambda: console.read_text(errors="replace").count(LOGIN_MARKER) == 2)

        assert (await driver.power_off(UUID, timeout=60)).power_state is PowerState.SHUTDOWN
        assert live_pid(instance / "qemu.pid", str(instance)) is None
        assert await states(driver) == {UUID: PowerState.SHUTDOWN}
        assert (await driver.power_on(UUID)).power_state is PowerState.RUNNING
        await wait_for("third firmware banner",
                       lambda: console.read_text(errors="replace").count("SeaBIOS") == 3)
        assert (await driver.reboot(UUID, hard=True)).power_state is PowerState.RUNNING
        await wait_for("fourth firmware banner",
                       lambda: console.read_text(errors="replace").count("SeaBIOS") == 4)

        # QEMU killed behind the driver's back: the guest is shut down, not gone.
        pid = live_pid(instance / "qemu.pid", str(instance))
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await wait_for("QEMU to die", lambda: live_pid(instance / "qemu.pid", str(instance)) is None,
                       timeout=30)
        assert await states(driver) == {UUID: PowerState.SHUTDOWN}

        assert (await driver.power_on(UUID)).power_state is PowerState.RUNNING
        pid = live_pid(instance / "qemu.pid", str(instance))
    finally:
        await driver.destroy(UUID)
    assert not instance.exists()
    assert pid is not None and not running(pid)
    assert await driver.list_guests() == []
    await driver.destroy(UUID)  # idempotent


async def test_qemu_spawn_of_an_unbootable_image_fails_and_leaves_nothing(
        image: GuestImage, tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "state", image)
    garbage = tmp_path / "garbage.raw"
    garbage.write_bytes(os.urandom(1 << 20))
    # QEMU starts, the firmware finds no boot sector.
    with pytest.raises(BootFailed, match="not a bootable disk|No bootable device"):
        await driver.spawn(spec(garbage, "raw"))
    # The image is not what the image service says it is: no QEMU is started at all.
    with pytest.raises(BootFailed, match="not a valid qcow2 disk"):
        await driver.spawn(spec(garbage, "qcow2"))
    with pytest.raises(BootFailed, match="no root disk"):
        await driver.spawn(GuestSpec(uuid=UUID, name="x", vcpus=1, memory_mb=128, root_gb=1))
    assert await driver.list_guests() == []
    assert list((tmp_path / "state" / "instances").iterdir()) == []


# Runs in the background of the guest and reports its block devices on the serial port whenever
# they change (the guest's own init does not).
WATCH_BLOCK = b"""#!/bin/sh
( last=""; while :; do
    now=$(ls /sys/block | tr '\\n' ' ')
    [ "$now" != "$last" ] && echo "BLOCK: $now" >/dev/ttyS0
    last=$now; sleep 0.3
  done ) >/dev/null 2>&1 &
"""


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def fill_pattern(volume: Path) -> None:
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 1M", str(volume)],
                   check=True, capture_output=True)


async def test_qemu_volumes_snapshot_and_crash_dump_on_a_running_guest(
        image: GuestImage, tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "state", image)
    console = tmp_path / "state" / "instances" / UUID / "console.log"
    vol1, vol2, snap = tmp_path / "vol1.qcow2", tmp_path / "vol2.qcow2", tmp_path / "snap.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(vol1), "16M")
    qemu_img("create", "-q", "-f", "qcow2", str(vol2), "16M")
    fill_pattern(vol1)

    def last_block() -> list[str]:
        return [line for line in console.read_text(errors="replace").splitlines()
                if line.startswith("BLOCK: ")][-1:]

    try:
        await driver.spawn(dataclasses.replace(spec(image.disk), user_data=WATCH_BLOCK))
        await wait_for("login marker", lambda: LOGIN_MARKER in console.read_text(errors="replace"))
        await wait_for("block report", lambda: last_block() == ["BLOCK: sr0 vda "], timeout=30)

        first = VolumeConnection(volume_id="a1b2c3d4-0000-4000-8000-000000000001", path=vol1,
                                 format="qcow2", device_name="/dev/vdb")
        await driver.attach_volume(UUID, first)
        await driver.attach_volume(UUID, first)  # idempotent
        await wait_for("vdb to appear", lambda: last_block() == ["BLOCK: sr0 vda vdb "], timeout=60)

        # Swapped under the running guest: the data comes along, the device stays.
        second = VolumeConnection(volume_id="a1b2c3d4-0000-4000-8000-000000000002", path=vol2,
                                  format="qcow2", device_name="/dev/vdb")
        await driver.swap_volume(UUID, first.volume_id, second)
        assert "Images are identical" in qemu_img("compare", "-U", str(vol1), str(vol2))

        await driver.detach_volume(UUID, second.volume_id)
        await driver.detach_volume(UUID, second.volume_id)  # idempotent
        await wait_for("vdb to go", lambda: last_block() == ["BLOCK: sr0 vda "], timeout=60)

        await driver.snapshot(UUID, snap, "qcow2")
        info = json.loads(qemu_img("info", "--output=json", str(snap)))
        assert info["format"] == "qcow2" and "backing-filename" not in info
        assert await states(driver) == {UUID: PowerState.RUNNING}

        await driver.trigger_crash_dump(UUID)
        await wait_for("the NMI", lambda: "NMI received" in console.read_text(errors="replace"),
                       timeout=60)
        await driver.power_off(UUID, timeout=0)
        with pytest.raises(GuestNotRunning):
            await driver.trigger_crash_dump(UUID)
    finally:
        await driver.destroy(UUID)
    assert vol1.exists() and vol2.exists()  # the volume service owns them


async def test_qemu_rescue_boots_the_image_with_the_own_disk_second(
        image: GuestImage, tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "state", image)
    console = tmp_path / "state" / "instances" / UUID / "console.log"

    def markers() -> int:
        return console.read_text(errors="replace").count(LOGIN_MARKER)

    def blocks() -> list[str]:
        return [line for line in console.read_text(errors="replace").splitlines()
                if line.startswith("BLOCK: ")]

    try:
        await driver.spawn(dataclasses.replace(spec(image.disk), user_data=WATCH_BLOCK))
        await wait_for("login marker", lambda: markers() == 1)
        # No rescue image given: the guest's own image, as Nova does.
        assert (await driver.rescue(UUID, None, "qcow2", None)).power_state is PowerState.RUNNING
        await wait_for("rescue boot", lambda: markers() == 2)
        await wait_for("two disks", lambda: blocks()[-1:] == ["BLOCK: sr0 vda vdb "], timeout=30)
        assert (await driver.unrescue(UUID)).power_state is PowerState.RUNNING
        await wait_for("own boot", lambda: markers() == 3)
        await wait_for("one disk", lambda: blocks()[-1:] == ["BLOCK: sr0 vda "], timeout=30)
        assert not (tmp_path / "state" / "instances" / UUID / "rescue.qcow2").exists()
        assert (await driver.unrescue(UUID)).power_state is PowerState.RUNNING  # idempotent
    finally:
        await driver.destroy(UUID)


async def test_qemu_guest_boots_from_a_volume(image: GuestImage, tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "state", image)
    volume = tmp_path / "boot-volume.qcow2"
    qemu_img("convert", "-O", "qcow2", str(image.disk), str(volume))
    console = tmp_path / "state" / "instances" / UUID / "console.log"
    boot = VolumeConnection(volume_id="b0000000-0000-4000-8000-00000000b007", path=volume,
                            format="qcow2", device_name="/dev/vda", boot_index=0)
    try:
        await driver.spawn(GuestSpec(uuid=UUID, name="bfv-guest", vcpus=1, memory_mb=128,
                                     root_gb=1, volumes=(boot,)))
        await wait_for("login marker", lambda: LOGIN_MARKER in console.read_text(errors="replace"))
        assert not (tmp_path / "state" / "instances" / UUID / "disk.qcow2").exists()
        with pytest.raises(QemuError, match="boots from a volume"):
            await driver.snapshot(UUID, tmp_path / "snap.qcow2", "qcow2")
    finally:
        await driver.destroy(UUID)
    assert volume.exists()


async def test_qemu_machine_image_boots_from_its_kernel_and_ramdisk(image: GuestImage,
                                                                    tmp_path: Path) -> None:
    """An AMI (a raw disk) with its AKI and ARI: QEMU loads the kernel and ramdisk itself, with
    the image's command line; the disk is still the guest's first virtio disk."""
    driver = make_driver(tmp_path / "state", image)
    ami = tmp_path / "machine.raw"
    qemu_img("convert", "-O", "raw", str(image.disk), str(ami))
    instance = tmp_path / "state" / "instances" / UUID
    guest = dataclasses.replace(spec(ami, "ami"), kernel_path=image.kernel,
                                ramdisk_path=image.initrd,
                                kernel_cmdline="console=ttyS0 panic=-1 guest.net=0")
    try:
        await driver.spawn(guest)
        await wait_for("login marker",
                       lambda: LOGIN_MARKER in (instance / "console.log").read_text(errors="replace"))
        argv = json.loads((instance / "launch.json").read_text())["argv"]
        assert argv[argv.index("-kernel") + 1] == str(image.kernel)
        assert argv[argv.index("-initrd") + 1] == str(image.initrd)
        assert argv[argv.index("-append") + 1] == "console=ttyS0 panic=-1 guest.net=0"
        # The kernel came from the command line, not from the disk's boot loader.
        assert "Booting from Hard Disk" not in (instance / "console.log").read_text(errors="replace")
    finally:
        await driver.destroy(UUID)
    assert not instance.exists()
