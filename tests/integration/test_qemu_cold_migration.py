"""Resize and cold migration between two QEMU hosts on this machine, with real QEMU and
qemu-nbd: the stopped guest's disk copied from the source's NBD export, grown to the new
flavor, booted with its vCPUs and RAM; a revert brings back the source's guest, a confirm
drops it; a resize on one host works the same, and a delete drops what it kept."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nimbus.compute.states import PowerState
from nimbus.compute.virt.driver import GuestSpec
from nimbus.compute.virt.qemu.disks import GIB
from nimbus.compute.virt.qemu.process import live_pid
from nimbus.guestimage import LOGIN_MARKER, GuestImage, build_guest_image
from tests.integration.migration_hosts import MARK, UUID, Host, disk_mark, make_host, spec
from tests.integration.qemu_helpers import wait_for

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    return build_guest_image(tmp_path_factory.mktemp("guest-image"))


def disk_info(host: Host) -> dict[str, object]:
    info: dict[str, object] = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(host.instance().disk)],
        check=True, capture_output=True, text=True).stdout)
    return info


def launched_with(host: Host) -> tuple[str, str]:
    """The vCPUs and RAM the guest's QEMU is started with."""
    argv = json.loads(host.instance().launch_file.read_text())["argv"]
    return argv[argv.index("-smp") + 1], argv[argv.index("-m") + 1]


def export_running(host: Host) -> bool:
    kept = host.driver._kept(UUID)
    return live_pid(kept.path / "nbd.pid", kept.marker) is not None


def boots(host: Host) -> int:
    return host.console().count(LOGIN_MARKER)


async def test_qemu_cold_migration_copies_the_disk_and_reverts_or_confirms(
        image: GuestImage, tmp_path: Path) -> None:
    a, b = make_host(tmp_path, "cold-a", image), make_host(tmp_path, "cold-b", image)

    def bigger(host: Host) -> GuestSpec:
        return dataclasses.replace(spec(host), vcpus=2, memory_mb=192, root_gb=2)

    try:
        await a.driver.spawn(spec(a))
        await wait_for("login marker", lambda: LOGIN_MARKER in a.console())
        assert "mark written" in a.console()

        source_disk = await a.driver.migrate_disk_and_power_off(UUID)
        assert source_disk.startswith("nbd://127.0.0.1:")
        assert a.pid() is None and await a.driver.list_guests() == []
        assert export_running(a)
        # Again (a message delivered twice): the same export.
        assert await a.driver.migrate_disk_and_power_off(UUID) == source_disk

        # Stopped at b: the disk is a's (what the guest wrote), on b's image, 2 GiB now.
        info = await b.driver.finish_migration(bigger(b), power_on=False, source_disk=source_disk)
        assert info.power_state is PowerState.SHUTDOWN
        assert disk_mark(b) == MARK
        assert disk_info(b)["virtual-size"] == 2 * GIB
        assert disk_info(b)["full-backing-filename"] == str(b.image.resolve())
        assert launched_with(b) == ("2", "192")

        # Revert: b's guest goes, a's comes back as it was and boots again.
        await b.driver.revert_migration(UUID, same_host=False)
        assert not b.instance().path.exists()
        back = await a.driver.finish_revert_migration(UUID, power_on=True)
        assert back.power_state is PowerState.RUNNING and not export_running(a)
        await wait_for("a second boot on a", lambda: boots(a) == 2)
        assert launched_with(a) == ("1", "128") and disk_info(a)["virtual-size"] == GIB

        # Again, and confirmed: the guest boots on b and a keeps nothing.
        source_disk = await a.driver.migrate_disk_and_power_off(UUID)
        info = await b.driver.finish_migration(bigger(b), power_on=True, source_disk=source_disk)
        assert info.power_state is PowerState.RUNNING
        await wait_for("login marker on b", lambda: LOGIN_MARKER in b.console())
        await a.driver.confirm_migration(UUID, same_host=False)
        assert not export_running(a) and not a.driver._kept(UUID).path.exists()
        assert not a.instance().path.exists()
        assert [g.uuid for g in await b.driver.list_guests()] == [UUID]
    finally:
        for host in (a, b):
            await host.driver.confirm_migration(UUID, same_host=False)
            await host.driver.destroy(UUID)


async def test_qemu_resize_on_one_host_keeps_the_old_guest_apart(
        image: GuestImage, tmp_path: Path) -> None:
    a = make_host(tmp_path, "resize-a", image)
    try:
        await a.driver.spawn(spec(a))
        await wait_for("login marker", lambda: LOGIN_MARKER in a.console())
        source_disk = await a.driver.migrate_disk_and_power_off(UUID)
        resized = dataclasses.replace(spec(a), vcpus=2, root_gb=3)
        info = await a.driver.finish_migration(resized, power_on=True, source_disk=source_disk)
        assert info.power_state is PowerState.RUNNING
        # The new guest's console starts afresh in its own directory.
        await wait_for("login marker after the resize", lambda: LOGIN_MARKER in a.console())
        assert launched_with(a) == ("2", "128") and disk_info(a)["virtual-size"] == 3 * GIB
        assert a.driver._kept(UUID).disk.exists()
        await a.driver.confirm_migration(UUID, same_host=True)
        assert not a.driver._kept(UUID).path.exists()
        assert [(g.uuid, g.power_state) for g in await a.driver.list_guests()] == [
            (UUID, PowerState.RUNNING)]

        # Deleted while resizing (VERIFY_RESIZE): the kept guest and its export go too.
        await a.driver.migrate_disk_and_power_off(UUID)
        assert export_running(a)
        await a.driver.destroy(UUID)
        assert not export_running(a) and not a.driver._kept(UUID).path.exists()
    finally:
        await a.driver.confirm_migration(UUID, same_host=True)
        await a.driver.destroy(UUID)
