"""`LiveMigration`: QemuDriver's half of moving a running guest to another host.

    uri = await dest.prepare_incoming(spec)       # its own disk and QEMU, waiting (-incoming)
    await source.live_migrate(uuid, uri, block_migration=True)
    await dest.finish_incoming(uuid)              # the guest runs there; source QEMU is gone

The destination lays the guest out as spawn does (root disk on its own image cache, config
drive written again from the spec, the volumes in the spec) and starts QEMU waiting for it;
migration_qmp.py has the QMP steps. The hosts share no disk, so only block migration works:
shares_storage() says so, and the live-migration pre-check refuses block_migration false (400
before 2.34, a migration in error after), as Nova's libvirt driver does without shared storage.
Limits: QEMU's machine type is the configured alias (`pc`) on both sides, which is the same
machine only with the same QEMU (as on one machine); an incoming guest whose agent restarts
mid-move stays a directory until the next live migration of that guest replaces it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from nimbus.compute.virt import driver as base
from nimbus.compute.virt.driver import GuestInfo, GuestNotRunning, GuestSpec
from nimbus.compute.virt.qemu import migration_qmp, process
from nimbus.compute.virt.qemu.errors import QemuError
from nimbus.compute.virt.qemu.host_parts import HostParts
from nimbus.compute.virt.qemu.instance import Instance
from nimbus.compute.virt.qemu.migration_qmp import Control, Incoming, MigrationStats
from nimbus.compute.virt.qemu.monitor import Monitor

LOG = logging.getLogger(__name__)


class LiveMigration(HostParts, base.SupportsLiveMigration):
    # Migrations this host sends, by guest, with their force-complete and abort flags.
    outgoing: dict[str, Control]

    def shares_storage(self) -> bool:
        return False

    async def prepare_incoming(self, guest: GuestSpec) -> str:
        inst = Instance(self.instances_dir / guest.uuid)
        async with self._exclusive(guest.uuid):
            await self._remove(inst)  # a move of this guest that never finished
            try:
                inst.path.mkdir(parents=True)
                # Until it has arrived the guest is not this host's: list_guests skips it, so
                # the agent's reconcile does not destroy it as unknown.
                inst.incoming_mark.touch()
                await self._lay_out(inst, guest)
                await self._start(inst, incoming="defer")
                async with Monitor(inst.qmp_link()) as qmp:
                    incoming = await migration_qmp.listen(
                        qmp, self.config.migration_address, export_root=inst.disk.exists())
            except BaseException:
                await self._remove(inst)
                raise
        return incoming.uri()

    async def live_migrate(self, uuid: str, dest_uri: str, *,
                           block_migration: bool) -> None:
        inst = self._instance(uuid)
        # A force-complete or abort may have come first (see live_migration_force_complete).
        control = self.outgoing.setdefault(uuid, Control())
        try:
            if not block_migration:
                raise QemuError("the QEMU hosts share no storage: only a block migration "
                                "can move this guest")
            if not self._running(inst):
                raise GuestNotRunning(uuid)
            incoming = Incoming.parse(dest_uri)

            @asynccontextmanager
            async def session() -> AsyncIterator[Monitor]:
                # One short QMP session per step, so other operations are not locked out.
                async with self._exclusive(uuid), Monitor(inst.qmp_link()) as qmp:
                    yield qmp

            stats = await migration_qmp.send(session, incoming, control)
        finally:
            del self.outgoing[uuid]
        await process.wait_gone(inst.pid_file, inst.marker, 10.0)
        LOG.info("guest %s moved to %s in %d ms, downtime %d ms", uuid, incoming.host,
                 stats.total_ms, stats.downtime_ms)
        with self.sent_log.open("a") as log:
            log.write(json.dumps({"uuid": uuid, "destination": dest_uri,
                                  **dataclasses.asdict(stats)}) + "\n")

    @property
    def sent_log(self) -> Path:
        """QEMU's figures of each migration sent from here, a JSON object a line (what a
        benchmark reads: downtime is QEMU's to measure)."""
        return self.config.state_dir / "live-migrations.jsonl"

    def last_sent(self, uuid: str) -> MigrationStats | None:
        """The figures of the last migration of `uuid` sent from here."""
        found = None
        if self.sent_log.exists():
            for line in self.sent_log.read_text().splitlines():
                record = json.loads(line)
                if record.pop("uuid") == uuid:
                    del record["destination"]
                    found = MigrationStats(**record)
        return found

    async def finish_incoming(self, uuid: str) -> GuestInfo:
        inst = self._instance(uuid)
        async with self._exclusive(uuid):
            async with Monitor(inst.qmp_link()) as qmp:
                await migration_qmp.arrived(qmp)
            inst.incoming_mark.unlink(missing_ok=True)
            return await self._info(inst)

    async def abort_incoming(self, uuid: str) -> None:
        async with self._exclusive(uuid):
            await self._remove(Instance(self.instances_dir / uuid))

    def _sending(self, uuid: str) -> Control | None:
        """The migration of `uuid` under way here, or about to begin: a command that overtook
        live_migrate waits for it there (a guest no longer here has nothing to send)."""
        if not Instance(self.instances_dir / uuid).launch_file.exists():
            return None
        return self.outgoing.setdefault(uuid, Control())

    async def live_migration_force_complete(self, uuid: str) -> None:
        control = self._sending(uuid)
        if control is not None:
            control.forced = True

    async def live_migration_abort(self, uuid: str) -> None:
        control = self._sending(uuid)
        if control is not None:
            control.aborted = True
