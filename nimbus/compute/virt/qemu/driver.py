"""`QemuDriver`: one detached QEMU process per guest, driven over QMP.

    driver = QemuDriver(QemuConfig(hostname="node1", state_dir=state / "qemu" / "node1"))
    info = await driver.spawn(GuestSpec(..., image_path=cached_image, image_format="qcow2"))

The hypervisor's truth is the instance directory (see instance.py) plus the QEMU process its pid
file names: a guest whose QEMU died is shut down, one whose state was saved is suspended.
Nothing lives only in this object, so a new driver (an agent restart) adopts every guest as
it finds it, and QEMUs never die with the agent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from nimbus.compute.states import PowerState
from nimbus.compute.virt import driver as base
from nimbus.compute.virt.driver import (
    GuestInfo,
    GuestNotFound,
    GuestNotRunning,
    GuestSpec,
    HostResources,
    VolumeConnection,
)
from nimbus.compute.virt.qemu import accel, cmdline, configdrive, console, disks, process, volumes
from nimbus.compute.virt.qemu.cold_migration import ColdMigration
from nimbus.compute.virt.qemu.errors import BootFailed, QemuError, QemuUnavailable
from nimbus.compute.virt.qemu.instance import Instance, Launch
from nimbus.compute.virt.qemu.live_migration import LiveMigration
from nimbus.compute.virt.qemu.monitor import Monitor

# query-status run states -> power state; anything else (debug, prelaunch, ...) is PAUSED.
_RUN_STATES = {
    "running": PowerState.RUNNING,
    "shutdown": PowerState.SHUTDOWN,
    "internal-error": PowerState.CRASHED,
    "guest-panicked": PowerState.CRASHED,
    "io-error": PowerState.CRASHED,
}
QMP_SOCKET_TIMEOUT = 30.0
MIGRATE_TIMEOUT = 300.0
# A boot loader that prints nothing: this long after SeaBIOS's "Booting from" without
# "Boot failed", the boot sector was taken.
QUIET_BOOT_GRACE = 2.0


@dataclasses.dataclass(frozen=True)
class QemuConfig:
    hostname: str
    # This host's guests live under <state_dir>/instances.
    state_dir: Path
    binary: str = "qemu-system-x86_64"
    # "auto": KVM if a guest really runs on it here (probed once), else TCG.
    accel: str = "auto"
    # A Linux kernel the KVM probe boots (the test guest's); without one it trusts SeaBIOS.
    probe_kernel: Path | None = None
    machine: str = "pc"
    # How long spawn watches the firmware for "No bootable device".
    boot_check_timeout: float = 60.0
    # Memory kept for the host itself, not offered to guests.
    reserved_host_memory_mb: int = 512
    # Where this host listens for guests live-migrating here (memory and disk).
    migration_address: str = "127.0.0.1"


class QemuDriver(base.VirtDriver, base.SupportsPause, base.SupportsSuspend, base.SupportsVolumes,
                 base.SupportsSnapshot, base.SupportsCrashDump, base.SupportsRescue,
                 LiveMigration, ColdMigration):
    needs_dataplane = True

    def __init__(self, config: QemuConfig) -> None:
        binary = shutil.which(config.binary)
        if binary is None:
            raise QemuUnavailable(f"{config.binary} is not installed on {config.hostname}; "
                                  "install qemu-system-x86 or choose the fake driver")
        if shutil.which("qemu-img") is None:
            raise QemuUnavailable(f"qemu-img is not installed on {config.hostname}")
        self.config = config
        self.binary = binary
        self.instances_dir = config.state_dir / "instances"
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        self._accel: str | None = None if config.accel == "auto" else config.accel
        self._accel_lock = asyncio.Lock()
        self._locks: dict[str, asyncio.Lock] = {}
        self.outgoing = {}

    # -- plumbing -----------------------------------------------------------------------------

    def _instance(self, uuid: str) -> Instance:
        inst = Instance(self.instances_dir / uuid)
        if not inst.launch_file.exists():
            raise GuestNotFound(uuid)
        return inst

    @asynccontextmanager
    async def _exclusive(self, uuid: str) -> AsyncIterator[None]:
        """One operation per guest at a time: QEMU serves one QMP client at once."""
        async with self._locks.setdefault(uuid, asyncio.Lock()):
            yield

    async def accelerator(self) -> str:
        """kvm or tcg, probed on first use and then kept for this driver's life."""
        async with self._accel_lock:
            if self._accel is None:
                self._accel = "kvm" if await accel.kvm_works(
                    self.binary, self.config.probe_kernel) else "tcg"
            return self._accel

    async def _power_state(self, inst: Instance) -> PowerState:
        if process.live_pid(inst.pid_file, inst.marker) is None:
            return PowerState.SUSPENDED if inst.saved_state.exists() else PowerState.SHUTDOWN
        try:
            async with Monitor(inst.qmp_link()) as qmp:
                status = await qmp.status()
        except QemuError:
            # Alive but not answering: starting, or exiting; check again.
            if process.live_pid(inst.pid_file, inst.marker) is None:
                return PowerState.SUSPENDED if inst.saved_state.exists() else PowerState.SHUTDOWN
            return PowerState.NOSTATE
        return _RUN_STATES.get(status, PowerState.PAUSED)

    async def _info(self, inst: Instance) -> GuestInfo:
        return GuestInfo(inst.uuid, await self._power_state(inst))

    async def _start(self, inst: Instance, *, incoming: str | None = None) -> None:
        """Start QEMU from launch.json and wait until QMP answers; QemuError if it will not.
        With `incoming` (QEMU's -incoming), it waits for a saved or migrating guest."""
        launch = inst.load_launch()
        argv = [*launch.argv, *volumes.argv(volumes.load(inst))]
        if inst.rescue_disk.exists():
            argv = cmdline.rescued(argv, str(inst.rescue_disk))
        if incoming is not None:
            argv += ["-incoming", incoming]
        inst.pid_file.unlink(missing_ok=True)
        inst.qmp.unlink(missing_ok=True)
        inst.qmp_link()  # the short path QEMU binds the socket through
        await process.launch(argv, netns=launch.netns, stderr_log=inst.log)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QMP_SOCKET_TIMEOUT
        # -daemonize returns once the monitor listens; the pid file may lag a moment.
        while process.live_pid(inst.pid_file, inst.marker) is None or not inst.qmp.exists():
            if loop.time() > deadline:
                raise QemuError(f"QEMU of {inst.uuid} exited while starting: {process.tail(inst.log)}")
            await asyncio.sleep(0.02)

    async def _stop(self, inst: Instance, *, graceful: float) -> None:
        """ACPI power button, then quit after `graceful` seconds, then SIGKILL."""
        if process.live_pid(inst.pid_file, inst.marker) is None:
            return
        if graceful > 0:
            pressed = False
            try:
                async with Monitor(inst.qmp_link()) as qmp:
                    # A paused guest cannot hear the power button: straight to quit.
                    if await qmp.status() == "running":
                        await qmp.execute("system_powerdown")
                        pressed = True
            except QemuError:
                pass  # not answering: the forced path below ends it
            if pressed and await process.wait_gone(inst.pid_file, inst.marker, graceful):
                return
        try:
            async with Monitor(inst.qmp_link()) as qmp:
                await qmp.execute("quit")
        except QemuError:
            pass
        if not await process.wait_gone(inst.pid_file, inst.marker, 10.0):
            await process.kill(inst.pid_file, inst.marker)

    async def _watch_boot(self, inst: Instance) -> None:
        """Until the firmware hands over to a boot sector: BootFailed if it finds none, or if
        QEMU exits first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.boot_check_timeout
        booting_since: float | None = None
        while loop.time() < deadline:
            text = console.read(inst.console)
            outcome = console.boot_outcome(text)
            if outcome is True:
                return
            if outcome is False:
                said = [line.strip() for line in text.splitlines() if line.strip()][-1]
                raise BootFailed(f"the guest has nothing to boot: the firmware says {said!r} "
                                 "(the image is not a bootable disk)")
            if process.live_pid(inst.pid_file, inst.marker) is None:
                raise BootFailed(f"QEMU exited while the guest booted: {process.tail(inst.log)}; "
                                 f"console: {text[-300:].strip()!r}")
            if console.BOOTING in text:
                booting_since = booting_since or loop.time()
                if loop.time() - booting_since >= QUIET_BOOT_GRACE:
                    return
            await asyncio.sleep(0.1)

    # -- VirtDriver ---------------------------------------------------------------------------

    async def host_resources(self) -> HostResources:
        memory_kb = _memory_kb()
        disk = shutil.disk_usage(self.instances_dir)
        major, minor, micro = await accel.version(self.binary)
        return HostResources(
            hypervisor_hostname=self.config.hostname, vcpus=os.cpu_count() or 1,
            memory_mb=max(memory_kb // 1024 - self.config.reserved_host_memory_mb, 0),
            disk_gb=disk.total >> 30, hypervisor_type="QEMU",
            hypervisor_version=major * 1_000_000 + minor * 1000 + micro,
            cpu_info=json.dumps({"arch": os.uname().machine,
                                 "accelerator": await self.accelerator()}))

    async def list_guests(self) -> list[GuestInfo]:
        guests = []
        for path in sorted(self.instances_dir.iterdir()):
            inst = Instance(path)
            if not inst.launch_file.exists() or inst.incoming_mark.exists():
                continue  # a spawn still writing it, a destroy half done, or a guest arriving
            async with self._exclusive(inst.uuid):
                guests.append(await self._info(inst))
        return guests

    async def spawn(self, guest: GuestSpec) -> GuestInfo:
        if guest.image_path is None and not any(v.boot_index == 0 for v in guest.volumes):
            raise BootFailed("the guest has no root disk: neither an image nor a boot volume")
        return await self._create(guest, power_on=guest.power_on)

    async def _create(self, guest: GuestSpec, *, power_on: bool,
                      root_disk: Callable[[Instance], Awaitable[None]] | None = None) -> GuestInfo:
        """The guest in a fresh instance directory, laid out and started if `power_on`; a
        failure leaves no directory. `root_disk` writes the root disk there first (a cold
        migration's copy) instead of a new one on the image."""
        inst = Instance(self.instances_dir / guest.uuid)
        async with self._exclusive(guest.uuid):
            await self._remove(inst)  # what an attempt interrupted by an agent crash left
            try:
                inst.path.mkdir(parents=True)
                if root_disk is not None:
                    await root_disk(inst)
                await self._lay_out(inst, guest, new_disk=root_disk is None)
                if power_on:
                    await self._start(inst)
                    await self._watch_boot(inst)
                return await self._info(inst)
            except BaseException:
                await self._remove(inst)
                raise

    async def _lay_out(self, inst: Instance, guest: GuestSpec, *, new_disk: bool = True) -> None:
        """The guest's files in its (new, empty) directory: disks, config drive, launch.json.
        `new_disk` False: the root disk is there already (it came with a cold migration)."""
        if guest.image_path is not None and new_disk:
            await disks.create_overlay(guest.image_path, guest.image_format, inst.disk,
                                       guest.root_gb)
        volumes.save(inst, list(guest.volumes))
        nics = cmdline.nics(guest.vifs)
        await asyncio.to_thread(configdrive.write, inst.config_drive, guest, nics)
        argv = cmdline.argv(self.binary, await self.accelerator(), self.config.machine,
                            guest, inst)
        inst.save_launch(Launch(argv=argv, netns=cmdline.netns_of(guest.vifs)))

    async def _remove(self, inst: Instance) -> None:
        await process.kill(inst.pid_file, inst.marker)
        inst.short_path.unlink(missing_ok=True)
        await asyncio.to_thread(shutil.rmtree, inst.path, ignore_errors=True)

    async def destroy(self, uuid: str) -> None:
        async with self._exclusive(uuid):
            await self._remove(Instance(self.instances_dir / uuid))
            # A resize's old guest kept here (a server deleted in VERIFY_RESIZE on this host,
            # or whose move failed and went back here in ERROR) goes with it.
            await self._drop_kept(uuid)
        self._locks.pop(uuid, None)

    async def power_off(self, uuid: str, *, timeout: float = 60.0) -> GuestInfo:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            await self._stop(inst, graceful=timeout)
            # A suspended guest stopped is a stopped guest: its saved state is forgotten.
            inst.saved_state.unlink(missing_ok=True)
            return await self._info(inst)

    async def power_on(self, uuid: str) -> GuestInfo:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if process.live_pid(inst.pid_file, inst.marker) is None:
                inst.saved_state.unlink(missing_ok=True)
                await self._start(inst)
            return await self._info(inst)

    async def reboot(self, uuid: str, *, hard: bool) -> GuestInfo:
        """Soft: ACPI power-off, then a fresh start (hard after 120 s, as Nova does).
        Hard: a reset of a running QEMU, or a start of a dead one."""
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if process.live_pid(inst.pid_file, inst.marker) is None:
                inst.saved_state.unlink(missing_ok=True)
                await self._start(inst)
            elif hard:
                async with Monitor(inst.qmp_link()) as qmp:
                    await qmp.execute("system_reset")
                    if await qmp.status() != "running":
                        await qmp.execute("cont")
            else:
                await self._stop(inst, graceful=120.0)
                await self._start(inst)
            return await self._info(inst)

    async def console_output(self, uuid: str, *, max_bytes: int | None = None) -> str:
        return console.read(self._instance(uuid).console, max_bytes)

    # -- SupportsPause, SupportsSuspend -------------------------------------------------------

    async def _qmp(self, uuid: str, command: str) -> GuestInfo:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if process.live_pid(inst.pid_file, inst.marker) is None:
                raise QemuError(f"guest {uuid} is not running")
            async with Monitor(inst.qmp_link()) as qmp:
                await qmp.execute(command)
            return await self._info(inst)

    async def pause(self, uuid: str) -> GuestInfo:
        return await self._qmp(uuid, "stop")

    async def unpause(self, uuid: str) -> GuestInfo:
        return await self._qmp(uuid, "cont")

    async def suspend(self, uuid: str) -> GuestInfo:
        """Save the guest's RAM and devices to suspend.state and end its QEMU."""
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if process.live_pid(inst.pid_file, inst.marker) is None:
                raise QemuError(f"guest {uuid} is not running")
            partial = inst.saved_state.with_suffix(".partial")
            async with Monitor(inst.qmp_link()) as qmp:
                await qmp.execute("stop")
                await qmp.execute("migrate", {"uri": f"exec:cat > {partial}"})
                await _migration_done(qmp)
                partial.replace(inst.saved_state)
                await qmp.execute("quit")
            if not await process.wait_gone(inst.pid_file, inst.marker, 30.0):
                await process.kill(inst.pid_file, inst.marker)
            return await self._info(inst)

    async def resume(self, uuid: str) -> GuestInfo:
        """Start QEMU on suspend.state; it comes up paused, as it was saved, and continues."""
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if not inst.saved_state.exists():
                raise QemuError(f"guest {uuid} is not suspended")
            await self._start(inst, incoming=f"exec:cat {inst.saved_state}")
            async with Monitor(inst.qmp_link()) as qmp:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + MIGRATE_TIMEOUT
                while (status := await qmp.status()) == "inmigrate":
                    if loop.time() > deadline:
                        raise QemuError(f"restoring {uuid} took over {MIGRATE_TIMEOUT:.0f} s")
                    await asyncio.sleep(0.05)
                if status != "paused":
                    raise QemuError(f"restored guest {uuid} is {status}, not paused")
                await qmp.execute("cont")
            inst.saved_state.unlink()
            return await self._info(inst)

    # -- SupportsVolumes, SupportsSnapshot, SupportsCrashDump ----------------------------------

    def _running(self, inst: Instance) -> bool:
        return process.live_pid(inst.pid_file, inst.marker) is not None

    async def attach_volume(self, uuid: str, volume: VolumeConnection) -> None:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            attached = volumes.load(inst)
            if any(v.volume_id == volume.volume_id for v in attached):
                return
            if self._running(inst):
                async with Monitor(inst.qmp_link()) as qmp:
                    await volumes.plug(qmp, volume)
            volumes.save(inst, [*attached, volume])

    async def detach_volume(self, uuid: str, volume_id: str) -> None:
        inst = Instance(self.instances_dir / uuid)
        if not inst.launch_file.exists():
            return
        async with self._exclusive(uuid):
            attached = volumes.load(inst)
            leaving = [v for v in attached if v.volume_id == volume_id]
            if not leaving:
                return
            if self._running(inst):
                async with Monitor(inst.qmp_link()) as qmp:
                    await volumes.unplug(qmp, leaving[0])
            volumes.save(inst, [v for v in attached if v.volume_id != volume_id])

    async def swap_volume(self, uuid: str, old_volume_id: str, new: VolumeConnection) -> None:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            attached = volumes.load(inst)
            old = next((v for v in attached if v.volume_id == old_volume_id), None)
            if old is None:
                raise QemuError(f"volume {old_volume_id} is not attached to {uuid}")
            new = dataclasses.replace(new, device_name=old.device_name, boot_index=old.boot_index)
            if self._running(inst):
                async with Monitor(inst.qmp_link()) as qmp:
                    await volumes.mirror(qmp, old, new)
            else:
                await disks.qemu_img("convert", "-n", "-f", old.format, "-O", new.format,
                                     str(old.path), str(new.path))
            volumes.save(inst, [new if v.volume_id == old_volume_id else v for v in attached])

    async def snapshot(self, uuid: str, dest: Path, disk_format: str) -> None:
        """qemu-img reads the root disk while the guest is paused (QEMU holds its write lock,
        hence -U), so the copy is consistent; the guest runs on afterwards."""
        inst = self._instance(uuid)
        if not inst.disk.exists():
            raise QemuError(f"guest {uuid} boots from a volume: snapshot the volume instead")
        async with self._exclusive(uuid):
            partial = dest.with_name(f"{dest.name}.partial")
            resume = False
            try:
                if self._running(inst):
                    async with Monitor(inst.qmp_link()) as qmp:
                        resume = await qmp.status() == "running"
                        if resume:
                            await qmp.execute("stop")
                await disks.qemu_img("convert", "-U", "-f", "qcow2", "-O",
                                     disks.FORMATS.get(disk_format, disk_format),
                                     str(inst.disk), str(partial))
                partial.replace(dest)
            finally:
                partial.unlink(missing_ok=True)
                if resume:
                    async with Monitor(inst.qmp_link()) as qmp:
                        await qmp.execute("cont")

    async def rescue(self, uuid: str, image_path: Path | None, image_format: str,
                     admin_password: str | None) -> GuestInfo:
        """Restart the guest on a rescue disk (an overlay on `image_path`, else on its own
        image, as Nova does), its own disk second. The admin password is not injected: the
        test guest has no agent to set it."""
        inst = self._instance(uuid)
        if not inst.disk.exists():
            raise QemuError(f"guest {uuid} boots from a volume and cannot be rescued")
        async with self._exclusive(uuid):
            if image_path is None:
                info = json.loads(await disks.qemu_img("info", "-U", "--output=json",
                                                        str(inst.disk)))
                image_path = Path(info["full-backing-filename"])
                image_format = {v: k for k, v in disks.FORMATS.items()}[info["backing-filename-format"]]
            await self._stop(inst, graceful=0)
            inst.rescue_disk.unlink(missing_ok=True)
            await disks.create_overlay(image_path, image_format, inst.rescue_disk, 0)
            try:
                await self._start(inst)
            except QemuError:
                inst.rescue_disk.unlink(missing_ok=True)
                raise
            return await self._info(inst)

    async def unrescue(self, uuid: str) -> GuestInfo:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if inst.rescue_disk.exists():
                await self._stop(inst, graceful=0)
                inst.rescue_disk.unlink()
                await self._start(inst)
            return await self._info(inst)

    async def trigger_crash_dump(self, uuid: str) -> None:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            if not self._running(inst):
                raise GuestNotRunning(uuid)
            async with Monitor(inst.qmp_link()) as qmp:
                if await qmp.status() != "running":
                    raise GuestNotRunning(uuid)
                await qmp.execute("inject-nmi")


def _memory_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


async def _migration_done(qmp: Monitor) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATE_TIMEOUT
    while True:
        state = (await qmp.execute("query-migrate")).get("status")
        if state == "completed":
            return
        if state in ("failed", "cancelled"):
            raise QemuError(f"saving the guest failed: migration {state}")
        if loop.time() > deadline:
            raise QemuError(f"saving the guest took over {MIGRATE_TIMEOUT:.0f} s")
        await asyncio.sleep(0.05)
