"""`FakeDriver`: in-memory guests for simulation and fast tests, with injected faults and delays.

    driver = FakeDriver(FakeHostConfig(hostname="node2", vcpus=8, spawn_delay=0.05))
    driver.fail_next("spawn", RuntimeError("disk full"))   # the next spawn raises this

It behaves like a hypervisor that always works, unless told otherwise: state changes are
immediate (after the configured delay) and consistent, so that every path above the driver
runs as it would on QEMU.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import weakref
from pathlib import Path

from nimbus.compute.states import PowerState
from nimbus.compute.virt.driver import (
    GuestInfo,
    GuestNotFound,
    GuestNotRunning,
    GuestSpec,
    HostResources,
    MigrationAborted,
    SupportsColdMigration,
    SupportsCrashDump,
    SupportsLiveMigration,
    SupportsPause,
    SupportsRescue,
    SupportsSnapshot,
    SupportsSuspend,
    SupportsVolumes,
    VirtDriver,
    VolumeConnection,
)

# Fake hypervisors of this process by host name: a live migration's URI names the one the
# guest moves to, as a QEMU migration URI names the destination's address.
_HOSTS: weakref.WeakValueDictionary[str, FakeDriver] = weakref.WeakValueDictionary()


@dataclasses.dataclass(frozen=True)
class FakeHostConfig:
    hostname: str
    vcpus: int = 16
    memory_mb: int = 32768
    disk_gb: int = 1024
    spawn_delay: float = 0.0
    action_delay: float = 0.0
    # How long a live migration copies memory, unless forced to complete or aborted.
    migrate_delay: float = 0.0
    # Whether live migrations may leave the disks where they are (block_migration false);
    # off, as between QEMU hosts here.
    shared_storage: bool = False


def _boot_log(spec: GuestSpec) -> list[str]:
    """What a small Linux guest prints on its serial console while it boots, so that console
    output has the length and shape of a real one (Tempest asks for more than three lines)."""
    return [
        "[    0.000000] Linux version 6.1.0-fake (nimbus fake driver)\n",
        f"[    0.000000] Memory: {spec.memory_mb * 1024}K available\n",
        f"[    0.010000] smp: Brought up 1 node, {spec.vcpus} CPU(s)\n",
        f"[    0.200000] virtio_blk virtio1: [vda] {spec.root_gb * 2097152} 512-byte logical blocks\n",
        "[    0.500000] Run /sbin/init as init process\n",
        "Starting network: OK\n",
        "Initializing random number generator: OK\n",
        "Starting sshd: OK\n",
        f"=== {spec.name} ({spec.uuid}) is up ===\n",
        "\n",
        f"{spec.name} login: \n",
    ]


def _volumes(spec: GuestSpec) -> dict[str, VolumeConnection]:
    return {v.volume_id: v for v in spec.volumes}


def _copy_disk(spec: GuestSpec, dest: Path) -> None:
    if spec.image_path is not None and spec.image_path.exists():
        shutil.copyfile(spec.image_path, dest)
    else:
        dest.write_bytes(f"fake disk of {spec.uuid}\n".encode())


@dataclasses.dataclass
class FakeGuest:
    spec: GuestSpec
    power_state: PowerState
    console: list[str] = dataclasses.field(default_factory=list)
    volumes: dict[str, VolumeConnection] = dataclasses.field(default_factory=dict)
    # The image a rescue booted from (None: the default rescue image), while rescued.
    rescued_from: Path | None = None
    rescued: bool = False

    def info(self) -> GuestInfo:
        return GuestInfo(self.spec.uuid, self.power_state)


@dataclasses.dataclass
class _Outgoing:
    """A live migration this host is sending: forced or aborted by another call."""

    stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    aborted: bool = False


class FakeDriver(VirtDriver, SupportsPause, SupportsSuspend, SupportsSnapshot, SupportsRescue,
                 SupportsCrashDump, SupportsColdMigration, SupportsLiveMigration, SupportsVolumes):
    def __init__(self, config: FakeHostConfig) -> None:
        self.config = config
        self.guests: dict[str, FakeGuest] = {}
        self._faults: dict[str, list[Exception]] = {}
        # Cold migration: guests stopped here and kept for a revert until confirmed.
        self.kept: dict[str, FakeGuest] = {}
        # Live migration: guests announced to arrive here, and those being sent away.
        self.incoming: dict[str, FakeGuest] = {}
        self._outgoing: dict[str, _Outgoing] = {}
        _HOSTS[config.hostname] = self

    def fail_next(self, operation: str, error: Exception) -> None:
        """Make the next call of `operation` (a method name, e.g. "spawn") raise `error`."""
        self._faults.setdefault(operation, []).append(error)

    async def _enter(self, operation: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        pending = self._faults.get(operation)
        if pending:
            raise pending.pop(0)

    def _guest(self, uuid: str) -> FakeGuest:
        try:
            return self.guests[uuid]
        except KeyError:
            raise GuestNotFound(uuid) from None

    async def host_resources(self) -> HostResources:
        c = self.config
        return HostResources(hypervisor_hostname=c.hostname, vcpus=c.vcpus, memory_mb=c.memory_mb,
                             disk_gb=c.disk_gb, hypervisor_type="fake", hypervisor_version=1000)

    async def list_guests(self) -> list[GuestInfo]:
        return [g.info() for g in self.guests.values()]

    async def spawn(self, guest: GuestSpec) -> GuestInfo:
        await self._enter("spawn", self.config.spawn_delay)
        state = PowerState.RUNNING if guest.power_on else PowerState.SHUTDOWN
        fake = FakeGuest(guest, state, _boot_log(guest) if guest.power_on else [],
                         _volumes(guest))
        self.guests[guest.uuid] = fake
        return fake.info()

    async def destroy(self, uuid: str) -> None:
        await self._enter("destroy", self.config.action_delay)
        self.guests.pop(uuid, None)

    async def _set(self, operation: str, uuid: str, state: PowerState) -> GuestInfo:
        await self._enter(operation, self.config.action_delay)
        guest = self._guest(uuid)
        guest.power_state = state
        return guest.info()

    async def power_off(self, uuid: str, *, timeout: float = 60.0) -> GuestInfo:
        return await self._set("power_off", uuid, PowerState.SHUTDOWN)

    async def power_on(self, uuid: str) -> GuestInfo:
        return await self._boot("power_on", uuid)

    async def reboot(self, uuid: str, *, hard: bool) -> GuestInfo:
        return await self._boot("reboot", uuid)

    async def _boot(self, operation: str, uuid: str) -> GuestInfo:
        info = await self._set(operation, uuid, PowerState.RUNNING)
        guest = self._guest(uuid)
        guest.console.extend(_boot_log(guest.spec))
        return info

    async def pause(self, uuid: str) -> GuestInfo:
        return await self._set("pause", uuid, PowerState.PAUSED)

    async def unpause(self, uuid: str) -> GuestInfo:
        return await self._set("unpause", uuid, PowerState.RUNNING)

    async def suspend(self, uuid: str) -> GuestInfo:
        return await self._set("suspend", uuid, PowerState.SUSPENDED)

    async def resume(self, uuid: str) -> GuestInfo:
        return await self._set("resume", uuid, PowerState.RUNNING)

    async def attach_volume(self, uuid: str, volume: VolumeConnection) -> None:
        await self._enter("attach_volume", self.config.action_delay)
        self._guest(uuid).volumes[volume.volume_id] = volume

    async def detach_volume(self, uuid: str, volume_id: str) -> None:
        await self._enter("detach_volume", self.config.action_delay)
        guest = self.guests.get(uuid)
        if guest is not None:
            guest.volumes.pop(volume_id, None)

    async def swap_volume(self, uuid: str, old_volume_id: str, new: VolumeConnection) -> None:
        await self._enter("swap_volume", self.config.action_delay)
        guest = self._guest(uuid)
        guest.volumes.pop(old_volume_id, None)
        guest.volumes[new.volume_id] = new

    async def console_output(self, uuid: str, *, max_bytes: int | None = None) -> str:
        text = "".join(self._guest(uuid).console)
        return text[-max_bytes:] if max_bytes else text

    # -- snapshot, rescue, crash dump ------------------------------------------------------

    async def snapshot(self, uuid: str, dest: Path, disk_format: str) -> None:
        """The guest's disk is the image it booted from: a snapshot is a copy of its data."""
        await self._enter("snapshot", self.config.action_delay)
        await asyncio.to_thread(_copy_disk, self._guest(uuid).spec, dest)

    async def rescue(self, uuid: str, image_path: Path | None, image_format: str,
                     admin_password: str | None) -> GuestInfo:
        await self._enter("rescue", self.config.action_delay)
        guest = self._guest(uuid)
        guest.rescued, guest.rescued_from = True, image_path
        guest.power_state = PowerState.RUNNING
        guest.console.extend(_boot_log(guest.spec) + ["rescue mode: root disk is /dev/vdb\n"])
        return guest.info()

    async def unrescue(self, uuid: str) -> GuestInfo:
        info = await self._boot("unrescue", uuid)
        guest = self._guest(uuid)
        guest.rescued, guest.rescued_from = False, None
        return info

    async def trigger_crash_dump(self, uuid: str) -> None:
        await self._enter("trigger_crash_dump", self.config.action_delay)
        guest = self._guest(uuid)
        if guest.power_state != PowerState.RUNNING:
            raise GuestNotRunning(uuid)
        guest.console.extend(["Kernel panic - not syncing: NMI: Not continuing\n",
                              *_boot_log(guest.spec)])

    # -- cold migration --------------------------------------------------------------------

    async def migrate_disk_and_power_off(self, uuid: str) -> str:
        await self._enter("migrate_disk_and_power_off", self.config.action_delay)
        guest = self.kept.get(uuid) or self._guest(uuid)
        guest.power_state = PowerState.SHUTDOWN
        self.kept[uuid] = guest
        return f"fake://{self.config.hostname}/{uuid}"

    async def finish_migration(self, guest: GuestSpec, *, power_on: bool,
                               source_disk: str) -> GuestInfo:
        await self._enter("finish_migration", self.config.spawn_delay)
        source = _HOSTS.get(source_disk.removeprefix("fake://").split("/", 1)[0])
        if source is None or guest.uuid not in source.kept:
            raise RuntimeError(f"no disk of {guest.uuid} is offered at {source_disk!r}")
        state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
        fake = FakeGuest(guest, state, _boot_log(guest) if power_on else [], _volumes(guest))
        self.guests[guest.uuid] = fake
        return fake.info()

    async def confirm_migration(self, uuid: str, *, same_host: bool) -> None:
        await self._enter("confirm_migration", self.config.action_delay)
        kept = self.kept.pop(uuid, None)
        if not same_host and kept is not None and self.guests.get(uuid) is kept:
            del self.guests[uuid]

    async def revert_migration(self, uuid: str, *, same_host: bool) -> None:
        await self._enter("revert_migration", self.config.action_delay)
        if not same_host:
            self.guests.pop(uuid, None)

    async def finish_revert_migration(self, uuid: str, *, power_on: bool) -> GuestInfo:
        await self._enter("finish_revert_migration", self.config.action_delay)
        guest = self.kept.pop(uuid, None) or self._guest(uuid)
        self.guests[uuid] = guest
        guest.power_state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
        return guest.info()

    # -- live migration --------------------------------------------------------------------

    def shares_storage(self) -> bool:
        return self.config.shared_storage

    async def prepare_incoming(self, guest: GuestSpec) -> str:
        await self._enter("prepare_incoming", self.config.action_delay)
        self.incoming[guest.uuid] = FakeGuest(guest, PowerState.PAUSED, volumes=_volumes(guest))
        return f"fake://{self.config.hostname}/{guest.uuid}"

    async def live_migrate(self, uuid: str, dest_uri: str, *, block_migration: bool) -> None:
        guest = self._guest(uuid)
        dest = _HOSTS.get(dest_uri.removeprefix("fake://").split("/", 1)[0])
        if dest is None or uuid not in dest.incoming:
            raise RuntimeError(f"nothing waits for {uuid} at {dest_uri}")
        # A force-complete or abort may have come first (see live_migration_force_complete).
        outgoing = self._outgoing.setdefault(uuid, _Outgoing())
        try:
            await self._enter("live_migrate", 0.0)
            if self.config.migrate_delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(outgoing.stop.wait(), self.config.migrate_delay)
        finally:
            del self._outgoing[uuid]
        if outgoing.aborted:
            raise MigrationAborted(f"the live migration of {uuid} was aborted")
        arrived = dest.incoming.pop(uuid)
        arrived.power_state, arrived.console = guest.power_state, guest.console
        dest.guests[uuid] = arrived
        self.guests.pop(uuid, None)

    async def finish_incoming(self, uuid: str) -> GuestInfo:
        return self._guest(uuid).info()

    async def abort_incoming(self, uuid: str) -> None:
        self.incoming.pop(uuid, None)

    def _sending(self, uuid: str) -> _Outgoing | None:
        """The migration of `uuid` under way here, or about to begin: a command that overtook
        live_migrate waits for it (a guest no longer here has nothing to send)."""
        if uuid not in self.guests:
            return None
        return self._outgoing.setdefault(uuid, _Outgoing())

    async def live_migration_force_complete(self, uuid: str) -> None:
        outgoing = self._sending(uuid)
        if outgoing is not None:
            outgoing.stop.set()

    async def live_migration_abort(self, uuid: str) -> None:
        outgoing = self._sending(uuid)
        if outgoing is not None:
            outgoing.aborted = True
            outgoing.stop.set()
