"""What the compute agent needs from a hypervisor, and nothing more.

    driver = FakeDriver(FakeHostConfig(hostname="node1"))
    info = await driver.spawn(GuestSpec(uuid=..., name="vm1", vcpus=1, memory_mb=512, root_gb=1))
    assert info.power_state is PowerState.RUNNING
    await driver.destroy(info.uuid)

A driver knows nothing about HTTP, RPC or the database: it gets frozen dataclasses and returns
them. Optional features are further small ABCs (`SupportsPause`, ...) that the agent checks with
isinstance, answering a clear 4xx when a driver lacks one.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path

from nimbus.compute.states import PowerState


@dataclasses.dataclass(frozen=True)
class VifSpec:
    """One network interface of a guest, as the network service bound it."""

    port_id: str
    mac: str
    network_id: str
    fixed_ips: tuple[str, ...] = ()
    mtu: int = 1500
    bridge: str | None = None
    # Set by the agent's VIF plugging when the driver needs a real dataplane: the tap device
    # made for this port and the network namespace it lives in (QEMU must run there to open it).
    tap: str | None = None
    netns: str | None = None


@dataclasses.dataclass(frozen=True)
class VolumeConnection:
    """A volume as the guest reaches it. The file backend is on this machine, so it is a local
    file the hypervisor opens (`path` in `format`, qemu's name: qcow2 or raw). The volume
    service owns the file: a driver never deletes it, not even in destroy()."""

    volume_id: str
    path: Path
    format: str
    device_name: str
    read_only: bool = False
    # 0 for the disk the guest boots from (boot from volume), None for a data disk.
    boot_index: int | None = None


@dataclasses.dataclass(frozen=True)
class GuestSpec:
    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    image_path: Path | None = None
    image_format: str = "raw"
    # A machine image (AMI) boots from a kernel (AKI) and ramdisk (ARI) of its own, with this
    # command line, instead of its disk's boot loader.
    kernel_path: Path | None = None
    ramdisk_path: Path | None = None
    kernel_cmdline: str = ""
    user_data: bytes | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    vifs: tuple[VifSpec, ...] = ()
    # Volumes present at boot; the one with boot_index 0 is the root disk (no image_path then).
    volumes: tuple[VolumeConnection, ...] = ()
    power_on: bool = True


@dataclasses.dataclass(frozen=True)
class GuestInfo:
    uuid: str
    power_state: PowerState


@dataclasses.dataclass(frozen=True)
class HostResources:
    """What the host offers; the resource tracker reports it to placement as inventory."""

    hypervisor_hostname: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str = "127.0.0.1"
    cpu_info: str = "{}"


class GuestNotFound(Exception):
    """The hypervisor has no guest with this uuid."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"no guest {uuid} on this host")
        self.uuid = uuid


class VirtDriver(abc.ABC):
    """A hypervisor on one host. Every method is idempotent where its docstring says so."""

    # True for drivers whose guests need real taps on real bridges (QEMU); the agent then
    # plugs each VIF into the dataplane before spawn and unplugs it after destroy.
    needs_dataplane: bool = False

    @abc.abstractmethod
    async def host_resources(self) -> HostResources:
        """The host's capacity, as the hypervisor sees it now."""

    @abc.abstractmethod
    async def list_guests(self) -> list[GuestInfo]:
        """Every guest the hypervisor knows, with its power state (for power-state sync)."""

    @abc.abstractmethod
    async def spawn(self, guest: GuestSpec) -> GuestInfo:
        """Create the guest and start it if `guest.power_on`.

        On failure nothing is left behind: the agent will not call destroy().
        """

    @abc.abstractmethod
    async def destroy(self, uuid: str) -> None:
        """Stop the guest and remove it with its disks. Idempotent: an unknown uuid is fine."""

    @abc.abstractmethod
    async def power_off(self, uuid: str, *, timeout: float = 60.0) -> GuestInfo:
        """Shut the guest down (ACPI first, forced after `timeout`). Raises GuestNotFound."""

    @abc.abstractmethod
    async def power_on(self, uuid: str) -> GuestInfo:
        """Start a stopped guest. Raises GuestNotFound."""

    @abc.abstractmethod
    async def reboot(self, uuid: str, *, hard: bool) -> GuestInfo:
        """Soft (ACPI) or hard reboot. Raises GuestNotFound."""

    @abc.abstractmethod
    async def console_output(self, uuid: str, *, max_bytes: int | None = None) -> str:
        """The guest's serial console log so far (its tail past `max_bytes`)."""


class SupportsPause(abc.ABC):
    @abc.abstractmethod
    async def pause(self, uuid: str) -> GuestInfo: ...

    @abc.abstractmethod
    async def unpause(self, uuid: str) -> GuestInfo: ...


class SupportsSuspend(abc.ABC):
    @abc.abstractmethod
    async def suspend(self, uuid: str) -> GuestInfo: ...

    @abc.abstractmethod
    async def resume(self, uuid: str) -> GuestInfo: ...


class MigrationAborted(Exception):
    """A live migration stopped before the guest ran on the destination; it runs on here."""


class SupportsColdMigration(abc.ABC):
    """Resize and cold migration: the guest stops here, starts there (maybe with a new
    flavor), and what the source kept is dropped on confirm or brought back on revert.
    Source and destination may be the same host (a resize to the same host)."""

    @abc.abstractmethod
    async def migrate_disk_and_power_off(self, uuid: str) -> str:
        """Source: stop the guest, keep it (its disks) for a revert, and offer its disks to
        the destination. Returns where the destination gets them (the agents carry it
        through the conductor to finish_migration; '' when there is nothing to send).
        Idempotent: a second call returns the same. Raises GuestNotFound."""

    @abc.abstractmethod
    async def finish_migration(self, guest: GuestSpec, *, power_on: bool,
                               source_disk: str) -> GuestInfo:
        """Destination: the guest as `guest` describes it (the new flavor), from the disks
        the source offers at `source_disk` (migrate_disk_and_power_off's answer). On
        failure nothing is left here."""

    @abc.abstractmethod
    async def confirm_migration(self, uuid: str, *, same_host: bool) -> None:
        """Source: drop what migrate_disk_and_power_off kept. Idempotent."""

    @abc.abstractmethod
    async def revert_migration(self, uuid: str, *, same_host: bool) -> None:
        """Destination: remove the guest finish_migration made. Idempotent."""

    @abc.abstractmethod
    async def finish_revert_migration(self, uuid: str, *, power_on: bool) -> GuestInfo:
        """Source: bring back the kept guest as it was before the move."""


class SupportsLiveMigration(abc.ABC):
    """Live migration between two hosts of the same driver: the destination prepares to
    receive, the source sends the running guest, then the destination owns it."""

    @abc.abstractmethod
    def shares_storage(self) -> bool:
        """Whether other hosts see this host's guest disks, so that a live migration may move
        memory only (block_migration false); otherwise only a block migration moves a guest."""

    @abc.abstractmethod
    async def prepare_incoming(self, guest: GuestSpec) -> str:
        """Destination: be ready to receive the guest; the URI the source sends it to."""

    @abc.abstractmethod
    async def live_migrate(self, uuid: str, dest_uri: str, *, block_migration: bool) -> None:
        """Source: send the running guest; returns once it runs at the destination and no
        longer here (the agent then removes what is left with destroy()). Raises
        MigrationAborted when live_migration_abort stopped it: the guest runs on here."""

    @abc.abstractmethod
    async def finish_incoming(self, uuid: str) -> GuestInfo:
        """Destination: the guest arrived; its state now."""

    @abc.abstractmethod
    async def abort_incoming(self, uuid: str) -> None:
        """Destination: drop a guest that never arrived. Idempotent."""

    @abc.abstractmethod
    async def live_migration_force_complete(self, uuid: str) -> None:
        """Source: finish a running migration now (pause the guest so memory stops changing).

        The API may send it as soon as the migration shows running, before live_migrate has
        begun here: it must then apply once live_migrate begins, not be lost. So must abort."""

    @abc.abstractmethod
    async def live_migration_abort(self, uuid: str) -> None:
        """Source: stop a running migration; live_migrate then raises MigrationAborted."""


class SupportsVolumes(abc.ABC):
    """Volumes attached to and detached from a guest that exists (hot-plug when it runs)."""

    @abc.abstractmethod
    async def attach_volume(self, uuid: str, volume: VolumeConnection) -> None:
        """The guest sees the volume as `volume.device_name`. Raises GuestNotFound; on
        failure the guest is as before. Idempotent for a volume already attached."""

    @abc.abstractmethod
    async def detach_volume(self, uuid: str, volume_id: str) -> None:
        """The guest no longer sees the volume. Idempotent: an unknown guest or volume is
        fine, so that a delete can always finish."""

    @abc.abstractmethod
    async def swap_volume(self, uuid: str, old_volume_id: str, new: VolumeConnection) -> None:
        """Copy what the guest has on the old volume to `new` and go on with `new` under the
        same device name, the guest running throughout (QEMU's drive mirror). Raises
        GuestNotFound; on failure the guest still uses the old volume."""


class SupportsSnapshot(abc.ABC):
    @abc.abstractmethod
    async def snapshot(self, uuid: str, dest: Path, disk_format: str) -> None:
        """Write the guest's root disk, as it is now, to `dest` as one image file in
        `disk_format` ("raw", "qcow2"). The guest keeps its power state; nothing is left at
        `dest` on failure. Raises GuestNotFound."""


class SupportsRescue(abc.ABC):
    @abc.abstractmethod
    async def rescue(self, uuid: str, image_path: Path | None, image_format: str,
                     admin_password: str | None) -> GuestInfo:
        """Boot the guest from the rescue image, its own disk attached second; running after.
        Raises GuestNotFound."""

    @abc.abstractmethod
    async def unrescue(self, uuid: str) -> GuestInfo:
        """Boot the guest from its own disk again. Idempotent on a guest not in rescue."""


class SupportsCrashDump(abc.ABC):
    @abc.abstractmethod
    async def trigger_crash_dump(self, uuid: str) -> None:
        """Inject an NMI into a running guest, so its kernel dumps and reboots as it is set
        up to. Raises GuestNotFound, or GuestNotRunning when it is not running."""


class GuestNotRunning(Exception):
    """The guest exists but is not running, and the operation needs it running."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"guest {uuid} is not running")
        self.uuid = uuid
