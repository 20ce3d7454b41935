"""`ColdMigration`: QemuDriver's half of resize and cold migration.

    source_disk = await source.migrate_disk_and_power_off(uuid)   # nbd://10.0.0.5:40123/<token>
    await dest.finish_migration(spec_with_new_flavor, power_on=True, source_disk=source_disk)
    await source.confirm_migration(uuid, same_host=False)         # or, to go back:
    await dest.revert_migration(uuid, same_host=False); await source.finish_revert_migration(...)

The source stops the guest and moves its instance directory aside, to
<state_dir>/resize/<uuid>, where it is kept for a revert (and where list_guests does not see it),
so that a resize to the same host finds its instance directory free for the new guest. It
offers the root disk's qcow2 file, as it is, read-only over NBD (`qemu-nbd`, on
`migration_address`, under an export name that is a fresh secret), so the destination needs
no shared storage and may be another machine. The destination copies that file
(`qemu-img convert` from the NBD URI), points its backing file at its own cached copy of the
image (the same image: qcow2 overlays stay small), grows it to the new flavor's root disk (never
shrinks) and lays the guest out as spawn does, with the new vCPUs and RAM.

The export lives until confirm or revert, so a destination may copy again; like QEMU it
outlives the agent (its own session, found again by pid file). It is not encrypted: across
machines, `migration_address` belongs on a trusted network.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
from pathlib import Path

from nimbus.compute.virt import driver as base
from nimbus.compute.virt.driver import GuestInfo, GuestNotFound, GuestSpec
from nimbus.compute.virt.qemu import disks, process
from nimbus.compute.virt.qemu.errors import QemuError
from nimbus.compute.virt.qemu.host_parts import HostParts
from nimbus.compute.virt.qemu.instance import Instance
from nimbus.compute.virt.qemu.migration_qmp import free_port

# The guest gets this long to power off by ACPI before QEMU is ended (Nova's default).
SHUTDOWN_TIMEOUT = 60.0
# Tries at starting the export: the port picked may be taken before qemu-nbd binds it.
EXPORT_TRIES = 3


def _export_pid(kept: Instance) -> Path:
    return kept.path / "nbd.pid"


def _export_file(kept: Instance) -> Path:
    """Where the export's URI is written once it serves."""
    return kept.path / "nbd.json"


class ColdMigration(HostParts, base.SupportsColdMigration):
    def _kept(self, uuid: str) -> Instance:
        """The guest's instance directory while it is kept for a revert."""
        return Instance(self.config.state_dir / "resize" / uuid)

    # -- source ----------------------------------------------------------------------------

    async def migrate_disk_and_power_off(self, uuid: str) -> str:
        kept = self._kept(uuid)
        async with self._exclusive(uuid):
            if not kept.launch_file.exists():  # else an earlier call moved it already
                inst = self._instance(uuid)
                await self._stop(inst, graceful=SHUTDOWN_TIMEOUT)
                inst.short_path.unlink(missing_ok=True)
                kept.path.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(shutil.rmtree, kept.path, ignore_errors=True)
                os.rename(inst.path, kept.path)
            if not kept.disk.exists():
                return ""  # it boots from a volume: nothing of its own to send
            return await self._export(kept)

    async def _export(self, kept: Instance) -> str:
        """The kept root disk's file served read-only over NBD; its URI. Idempotent."""
        if process.live_pid(_export_pid(kept), kept.marker) is not None:
            uri: str = json.loads(_export_file(kept).read_text())["uri"]
            return uri
        address = self.config.migration_address
        for attempt in range(1, EXPORT_TRIES + 1):
            port, name = free_port(address), secrets.token_hex(16)
            try:
                await process.launch([
                    "qemu-nbd", "--read-only", "--persistent", "--format=raw",
                    f"--export-name={name}", f"--bind={address}", f"--port={port}",
                    f"--pid-file={_export_pid(kept)}", "--fork", str(kept.disk)],
                    netns=None, stderr_log=kept.path / "nbd.log")
                break
            except QemuError:
                if attempt == EXPORT_TRIES:
                    raise
        host = f"[{address}]" if ":" in address else address
        uri = f"nbd://{host}:{port}/{name}"
        _export_file(kept).write_text(json.dumps({"uri": uri}))
        return uri

    async def _unexport(self, kept: Instance) -> None:
        await process.kill(_export_pid(kept), kept.marker)
        for leftover in (_export_pid(kept), _export_file(kept), kept.path / "nbd.log"):
            leftover.unlink(missing_ok=True)

    async def confirm_migration(self, uuid: str, *, same_host: bool) -> None:
        async with self._exclusive(uuid):
            await self._drop_kept(uuid)

    async def _drop_kept(self, uuid: str) -> None:
        """The guest kept for a revert, and its export, gone. Idempotent."""
        kept = self._kept(uuid)
        await self._unexport(kept)
        await asyncio.to_thread(shutil.rmtree, kept.path, ignore_errors=True)

    async def finish_revert_migration(self, uuid: str, *, power_on: bool) -> GuestInfo:
        """The kept directory goes back in place and QEMU starts from it as before."""
        kept = self._kept(uuid)
        inst = Instance(self.instances_dir / uuid)
        async with self._exclusive(uuid):
            if kept.launch_file.exists():  # else an earlier call brought it back already
                await self._unexport(kept)
                await self._remove(inst)  # the new guest, when revert_migration missed it
                os.rename(kept.path, inst.path)
            if not inst.launch_file.exists():
                raise GuestNotFound(uuid)
            if power_on and not self._running(inst):
                await self._start(inst)
            return await self._info(inst)

    # -- destination -----------------------------------------------------------------------

    async def finish_migration(self, guest: GuestSpec, *, power_on: bool,
                               source_disk: str) -> GuestInfo:
        async def copy_root_disk(inst: Instance) -> None:
            if guest.image_path is not None:  # a boot volume has no root disk to copy
                await _copy_root_disk(source_disk, inst.disk, guest)

        return await self._create(guest, power_on=power_on,
                                  root_disk=copy_root_disk if source_disk else None)

    async def revert_migration(self, uuid: str, *, same_host: bool) -> None:
        """Remove the guest finish_migration made; on the same host the kept one is apart
        (in resize/), so this is the same."""
        async with self._exclusive(uuid):
            await self._remove(Instance(self.instances_dir / uuid))


async def _copy_root_disk(source_disk: str, disk: Path, guest: GuestSpec) -> None:
    """The source's qcow2 file copied from its NBD export to `disk`, backed by this host's
    copy of the image and as large as the new flavor's root disk (never smaller)."""
    assert guest.image_path is not None
    partial = disk.with_name(f"{disk.name}.partial")
    try:
        # The export is the file's bytes (raw): the copy is the same qcow2, holes kept.
        await disks.qemu_img("convert", "-f", "raw", "-O", "raw", source_disk, str(partial))
        backing = await asyncio.to_thread(os.path.realpath, guest.image_path)
        await disks.qemu_img("rebase", "-u", "-f", "qcow2", "-b", backing,
                             "-F", disks.FORMATS[guest.image_format], str(partial))
        info = json.loads(await disks.qemu_img("info", "--output=json", "-f", "qcow2",
                                               str(partial)))
        if guest.root_gb * disks.GIB > int(info["virtual-size"]):
            await disks.qemu_img("resize", "-q", "-f", "qcow2", str(partial),
                                 str(guest.root_gb * disks.GIB))
        partial.replace(disk)
    finally:
        partial.unlink(missing_ok=True)
