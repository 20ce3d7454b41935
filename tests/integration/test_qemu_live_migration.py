"""Live migration between two QEMU hosts on this machine, with real QEMU: two QemuDrivers with
their own state directories and image caches, a guest moved with its disk (block copy over NBD)
and a volume, and shown to run on where it arrived by what it prints there afterwards."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from nimbus.compute.states import PowerState
from nimbus.compute.virt.driver import GuestSpec, MigrationAborted, VolumeConnection
from nimbus.compute.virt.qemu import QemuError
from nimbus.compute.virt.qemu.monitor import Monitor
from nimbus.guestimage import LOGIN_MARKER, GuestImage, build_guest_image
from tests.integration.migration_hosts import MARK, UUID, Host, disk_mark, make_host, spec
from tests.integration.qemu_helpers import wait_for

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")]

MOVE_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    return build_guest_image(tmp_path_factory.mktemp("guest-image"))


def volume_id(n: int) -> str:
    return f"c0ffee00-0000-4000-8000-00000000000{n}"


def volume(root: Path, n: int) -> VolumeConnection:
    path = root / f"volume{n}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return VolumeConnection(volume_id=volume_id(n), path=path,
                            format="qcow2", device_name=f"/dev/vd{'abcdef'[n]}")


async def throttle(host: Host, bytes_per_second: int) -> None:
    """Slow the guest's memory copy from `host` so that a test can act while it runs."""
    async with Monitor(host.instance().qmp_link()) as qmp:
        await qmp.execute("migrate-set-parameters", {"max-bandwidth": bytes_per_second})


async def move(source: Host, dest: Host, guest: GuestSpec) -> PowerState:
    uri = await dest.driver.prepare_incoming(guest)
    await asyncio.wait_for(source.driver.live_migrate(UUID, uri, block_migration=True),
                           MOVE_TIMEOUT)
    return (await dest.driver.finish_incoming(UUID)).power_state


def said(host: Host, line: str) -> Callable[[], bool]:
    return lambda: f"nimbus-guest: {line}" in host.console()


async def test_qemu_live_migration_moves_a_running_guest_with_its_disk_and_volumes(
        image: GuestImage, tmp_path: Path) -> None:
    a, b = make_host(tmp_path, "live-a", image), make_host(tmp_path, "live-b", image)
    vdb, vdc, vdd = volume(tmp_path, 1), volume(tmp_path, 2), volume(tmp_path, 3)
    try:
        await a.driver.spawn(spec(a))
        await wait_for("login marker", lambda: LOGIN_MARKER in a.console())
        assert "mark written" in a.console()
        # Plugged and unplugged so that the one left is not where a fresh start would put it
        # (the guest's kernel names its disks in the order they came: vdd is its vdc).
        await a.driver.attach_volume(UUID, vdb)
        await wait_for("vdb on a", said(a, "block added vdb"), 60)
        await a.driver.attach_volume(UUID, vdd)
        await wait_for("vdc on a", said(a, "block added vdc"), 60)
        await a.driver.detach_volume(UUID, vdb.volume_id)
        await wait_for("vdb gone on a", said(a, "block removed vdb"), 60)
        source_pid = a.pid()

        # To b, its disk copied over NBD, the volume (a file both reach) opened there.
        assert await move(a, b, spec(b, (vdd,))) is PowerState.RUNNING
        assert source_pid is not None and a.pid() is None  # QEMU on a has quit
        assert [g.uuid for g in await b.driver.list_guests()] == [UUID]
        stats = a.driver.last_sent(UUID)
        assert stats is not None and 0 < stats.downtime_ms < stats.total_ms and not stats.forced
        assert disk_mark(b) == MARK  # the block copy carried what the guest wrote on a
        await a.driver.destroy(UUID)

        # The guest runs on b: it sees a disk plugged there (b's console starts empty).
        await b.driver.attach_volume(UUID, vdc)
        await wait_for("vdb on b", said(b, "block added vdb"), 60)
        assert LOGIN_MARKER not in b.console()  # no boot happened on b

        # And back to a, forced to complete while a throttled memory copy would take minutes.
        await throttle(b, 512 << 10)
        uri = await a.driver.prepare_incoming(spec(a, (vdd, vdc)))
        sending = asyncio.create_task(b.driver.live_migrate(UUID, uri, block_migration=True))
        await asyncio.sleep(3)
        assert not sending.done()
        await b.driver.live_migration_force_complete(UUID)
        await asyncio.wait_for(sending, MOVE_TIMEOUT)
        assert (await a.driver.finish_incoming(UUID)).power_state is PowerState.RUNNING
        forced = b.driver.last_sent(UUID)
        assert forced is not None and forced.forced and b.pid() is None
        await b.driver.destroy(UUID)
        await a.driver.detach_volume(UUID, vdd.volume_id)
        await wait_for("vdc gone on a", said(a, "block removed vdc"), 60)
    finally:
        await a.driver.destroy(UUID)
        await b.driver.destroy(UUID)
    assert vdd.path.exists()  # the volume service owns it


async def test_qemu_live_migration_stopped_keeps_the_guest_and_a_paused_one_moves_paused(
        image: GuestImage, tmp_path: Path) -> None:
    a, b = make_host(tmp_path, "live-a", image), make_host(tmp_path, "live-b", image)
    try:
        await a.driver.spawn(spec(a))
        await wait_for("login marker", lambda: LOGIN_MARKER in a.console())
        source_pid = a.pid()

        # An abort that overtakes the migration applies when it begins.
        uri = await b.driver.prepare_incoming(spec(b))
        assert await b.driver.list_guests() == []  # arriving guests are not b's yet
        await a.driver.live_migration_abort(UUID)
        with pytest.raises(MigrationAborted):
            await a.driver.live_migrate(UUID, uri, block_migration=True)
        await b.driver.abort_incoming(UUID)
        assert not b.instance().path.exists()

        # An abort while memory is copied: the guest goes on running on a.
        await throttle(a, 512 << 10)
        uri = await b.driver.prepare_incoming(spec(b))
        sending = asyncio.create_task(a.driver.live_migrate(UUID, uri, block_migration=True))
        await asyncio.sleep(3)
        await a.driver.live_migration_abort(UUID)
        with pytest.raises(MigrationAborted):
            await asyncio.wait_for(sending, MOVE_TIMEOUT)
        await b.driver.abort_incoming(UUID)
        await b.driver.abort_incoming(UUID)  # idempotent
        assert a.pid() == source_pid
        assert [(g.uuid, g.power_state) for g in await a.driver.list_guests()] == [
            (UUID, PowerState.RUNNING)]
        await a.driver.attach_volume(UUID, volume(tmp_path, 1))
        await wait_for("vdb on a", said(a, "block added vdb"), 60)

        # Only a block migration moves a guest between hosts that share no disk.
        uri = await b.driver.prepare_incoming(spec(b))
        with pytest.raises(QemuError, match="block migration"):
            await a.driver.live_migrate(UUID, uri, block_migration=False)
        await b.driver.abort_incoming(UUID)
        assert a.pid() == source_pid

        # A destination that cannot load the guest (it lacks the volume) says so, and the
        # guest runs on at the source rather than nowhere.
        await throttle(a, 128 << 20)  # QEMU's default again
        uri = await b.driver.prepare_incoming(spec(b))
        with pytest.raises(QemuError, match="failed"):
            await asyncio.wait_for(a.driver.live_migrate(UUID, uri, block_migration=True),
                                   MOVE_TIMEOUT)
        await b.driver.abort_incoming(UUID)
        assert a.pid() == source_pid
        assert [(g.uuid, g.power_state) for g in await a.driver.list_guests()] == [
            (UUID, PowerState.RUNNING)]
        await a.driver.detach_volume(UUID, volume_id(1))
        await wait_for("vdb gone on a", said(a, "block removed vdb"), 60)

        # A paused guest arrives paused (Nova live-migrates PAUSED servers too), and runs on
        # where it arrived once unpaused.
        await a.driver.pause(UUID)
        assert await move(a, b, spec(b)) is PowerState.PAUSED
        assert (await b.driver.unpause(UUID)).power_state is PowerState.RUNNING
        await b.driver.attach_volume(UUID, volume(tmp_path, 2))
        await wait_for("vdb on b", said(b, "block added vdb"), 60)
    finally:
        await a.driver.destroy(UUID)
        await b.driver.destroy(UUID)
