"""QMP steps of a live migration of a running guest to another host, its root disk copied block
by block (QemuDriver's LiveMigration mixin, live_migration.py, runs them).

    # destination: QEMU started with `-incoming defer`, then
    incoming = await listen(qmp, "127.0.0.1", export_root=True)    # -> incoming.uri()
    # source
    stats = await send(session, Incoming.parse(uri), control)
    # destination, once the source returned
    await arrived(qmp)

The hosts share no storage, so the destination makes the guest's root disk as spawn would (an
overlay on its own cached copy of the image) and exports it writable over QEMU's NBD server.
The source mirrors the top of its overlay there (sync=top: the base image is the same on both
sides), then sends memory over a tcp migration with pause-before-switchover: once QEMU stopped
the guest for the last copy, the mirror is completed, so the disk is whole on the destination
before the guest runs there. Volumes are files both hosts reach (the file backend): QEMU hands
their locks over at the switch.

`Control` is how force-complete and abort, which arrive on other RPC calls, reach the polling
loop of `send`: QEMU serves one QMP client at a time, so they cannot talk to it themselves
while a migration holds the monitor, and one that comes first still applies when `send` begins.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nimbus.compute.virt.driver import MigrationAborted
from nimbus.compute.virt.qemu.errors import QemuError
from nimbus.compute.virt.qemu.monitor import Monitor

LOG = logging.getLogger(__name__)

MIGRATE_TIMEOUT = 600.0
POLL = 0.05
# While memory is copied: QEMU stops the guest on its own, and it stays stopped until we have
# seen pre-switchover and finished the disk copy, so this is added to the downtime.
SWITCH_POLL = 0.01
JOB_POLL = 0.002
SESSION_SPAN = 1.0
# Names of what a migration adds to the guest's block graph, on either side.
EXPORT = "migrate-root"
TARGET = "migrate-target"
JOB = "migrate-root"
ROOT_NODE = "root"  # cmdline.argv's root disk
# QEMU's default, restored after a migration that raised it to force completion.
DEFAULT_DOWNTIME_MS = 300
# QEMU's largest downtime-limit (2000 s): with it, the next pass is the last one (see send).
FORCED_DOWNTIME_MS = 2_000_000

# The destination tells the source whether it could load the guest: without it the source
# would count a guest the destination refused (say, a device missing there) as sent, and quit.
RETURN_PATH = {"capability": "return-path", "state": True}

Session = Callable[[], AbstractAsyncContextManager[Monitor]]


@dataclasses.dataclass(frozen=True)
class Incoming:
    """Where a destination waits: memory on `port`, the root disk's NBD export on `nbd_port`
    (None for a guest that boots from a volume). As a string: tcp://host:port?nbd=port."""

    host: str
    port: int
    nbd_port: int | None

    def uri(self) -> str:
        query = f"?nbd={self.nbd_port}" if self.nbd_port is not None else ""
        return f"tcp://{_bracketed(self.host)}:{self.port}{query}"

    @classmethod
    def parse(cls, uri: str) -> Incoming:
        parts = urlsplit(uri)
        try:
            nbd = parse_qs(parts.query).get("nbd")
            if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
                raise ValueError(uri)
            return cls(parts.hostname, parts.port, int(nbd[0]) if nbd else None)
        except ValueError:
            raise QemuError(f"{uri!r} is not a QEMU live migration address") from None

    @property
    def migrate_uri(self) -> str:
        return f"tcp:{_bracketed(self.host)}:{self.port}"

    def nbd_server(self) -> dict[str, Any]:
        return {"type": "inet", "host": self.host, "port": str(self.nbd_port)}


@dataclasses.dataclass
class Control:
    """Set by force-complete and abort; read by `send` between its QMP calls."""

    forced: bool = False
    aborted: bool = False
    # Whether QEMU was told of `forced` (once is enough).
    force_sent: bool = False


@dataclasses.dataclass(frozen=True)
class MigrationStats:
    """QEMU's figures of a finished migration (query-migrate), in milliseconds and bytes."""

    total_ms: int
    downtime_ms: int
    transferred_bytes: int
    forced: bool


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def free_port(host: str) -> int:
    """A tcp port free on `host` now (the kernel's pick; QEMU binds it a moment later)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# -- destination --------------------------------------------------------------------------------

async def listen(qmp: Monitor, host: str, *, export_root: bool) -> Incoming:
    """On a QEMU started with `-incoming defer`: export the root disk (writable, for the
    source's mirror) and wait for the guest's memory on `host`."""
    nbd_port = None
    if export_root:
        nbd_port = free_port(host)
        await qmp.execute("nbd-server-start", {"addr": {"type": "inet", "data": {
            "host": host, "port": str(nbd_port)}}})
        # QEMU makes an exported node active (writable) although the guest is still incoming.
        await qmp.execute("block-export-add", {"type": "nbd", "id": EXPORT, "name": EXPORT,
                                               "node-name": ROOT_NODE, "writable": True})
    incoming = Incoming(host, free_port(host), nbd_port)
    await qmp.execute("migrate-set-capabilities", {"capabilities": [RETURN_PATH]})
    await qmp.execute("migrate-incoming", {"uri": incoming.migrate_uri})
    return incoming


async def arrived(qmp: Monitor) -> str:
    """Once the source has finished: wait for the guest to leave `inmigrate`, stop the disk's
    export, and return its run state (running, or paused if it was paused before)."""
    await _until(lambda: _status_settled(qmp), "the guest to arrive")
    await qmp.execute("nbd-server-stop")
    return await qmp.status()


async def _status_settled(qmp: Monitor) -> bool:
    return await qmp.status() != "inmigrate"


# -- source -------------------------------------------------------------------------------------

async def send(session: Session, incoming: Incoming, control: Control) -> MigrationStats:
    """Mirror the root disk to the destination, then its memory; returns once the guest runs
    there. On abort (or failure) the migration is cancelled and the guest runs on here:
    MigrationAborted (or QemuError) is raised then."""
    if control.aborted:
        raise MigrationAborted("the live migration was aborted before it began")
    mirroring = incoming.nbd_port is not None
    try:
        if mirroring:
            await _start_mirror(session, incoming)
            await _until(lambda: _mirror_ready(session, control), "the disk copy to catch up")
        async with session() as qmp:
            await qmp.execute("migrate-set-capabilities", {"capabilities": [
                RETURN_PATH, {"capability": "pause-before-switchover", "state": mirroring}]})
            await qmp.execute("migrate", {"uri": incoming.migrate_uri})
        info = await _watch(session, control)
    except BaseException:
        await asyncio.shield(_roll_back(session))
        if control.aborted:
            raise MigrationAborted("the live migration was aborted; the guest runs on here") \
                from None
        raise
    async with session() as qmp:
        await qmp.execute("quit")  # the guest runs at the destination: nothing is left here
    return MigrationStats(total_ms=int(info.get("total-time", 0)),
                          downtime_ms=int(info.get("downtime", 0)),
                          transferred_bytes=int(info.get("ram", {}).get("transferred", 0)),
                          forced=control.forced)


async def _start_mirror(session: Session, incoming: Incoming) -> None:
    async with session() as qmp:
        await qmp.execute("blockdev-add", {"driver": "nbd", "node-name": TARGET,
                                           "server": incoming.nbd_server(), "export": EXPORT})
        # auto-dismiss off: the job stays in query-jobs once concluded, with its error.
        await qmp.execute("blockdev-mirror", {"job-id": JOB, "device": ROOT_NODE,
                                              "target": TARGET, "sync": "top",
                                              "auto-dismiss": False})


async def _job(qmp: Monitor) -> dict[str, Any] | None:
    jobs: list[dict[str, Any]] = await qmp.execute("query-jobs")
    return next((job for job in jobs if job["id"] == JOB), None)


async def _mirror_ready(session: Session, control: Control) -> bool:
    if control.aborted:
        raise MigrationAborted("aborted while the disk was copied")
    async with session() as qmp:
        job = await _job(qmp)
    if job is None or job["status"] == "concluded":
        raise QemuError(f"copying the disk to the destination failed: "
                        f"{(job or {}).get('error', 'the job vanished')}")
    return bool(job["status"] == "ready")


async def _watch(session: Session, control: Control) -> dict[str, Any]:
    """Follow the migration until it completes; its last query-migrate reply. A session lasts
    SESSION_SPAN at most, so that other users of the monitor (the agent's power-state sync)
    get their turn during a long migration."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATE_TIMEOUT
    while loop.time() < deadline:
        async with session() as qmp:
            span = loop.time() + SESSION_SPAN
            while loop.time() < span:
                info = await _migration_step(qmp, control)
                if info is not None:
                    return info
                await asyncio.sleep(SWITCH_POLL)
    raise QemuError(f"the migration took over {MIGRATE_TIMEOUT:.0f} s")


async def _migration_step(qmp: Monitor, control: Control) -> dict[str, Any] | None:
    """One look at the migration, acting on what it shows; its query-migrate reply once
    completed."""
    if control.aborted:
        await qmp.execute("migrate_cancel")
        raise MigrationAborted("aborted while memory was copied")
    if control.forced and not control.force_sent:
        # Nova pauses the guest so that memory stops changing. QEMU's own last pass does
        # that if any downtime is allowed: it stops the vCPUs and sends the rest at once.
        # A `stop` here would instead arrive as a paused guest, not resumed there.
        await qmp.execute("migrate-set-parameters", {"downtime-limit": FORCED_DOWNTIME_MS})
        control.force_sent = True
    info: dict[str, Any] = await qmp.execute("query-migrate")
    status = info.get("status")
    if status == "pre-switchover":
        # The guest is stopped: the disk copy finishes and the device state follows.
        await _complete_mirror(qmp)
        # The NBD client node stays: deleting it now would hold QEMU's main loop while the
        # device state is sent (up to 160 ms more downtime here); the source quits anyway.
        await qmp.execute("migrate-continue", {"state": "pre-switchover"})
    elif status == "completed":
        return info
    elif status in ("failed", "cancelled"):
        raise QemuError(f"the live migration {status}: {info.get('error-desc', '')}".strip())
    return None


async def _complete_mirror(qmp: Monitor) -> None:
    """A ready mirror cancelled gracefully copies what is left and leaves the source's disk
    as it was (job-complete would switch the guest over to the NBD target instead)."""
    await qmp.execute("block-job-cancel", {"device": JOB})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATE_TIMEOUT
    while (job := await _job(qmp)) is not None and job["status"] != "concluded":
        if loop.time() > deadline:
            raise QemuError("the disk copy did not finish")
        await asyncio.sleep(JOB_POLL)
    await qmp.execute("job-dismiss", {"id": JOB})
    if job is not None and job.get("error"):
        raise QemuError(f"the disk copy failed at the end: {job['error']}")


async def _roll_back(session: Session) -> None:
    """After an abort or a failure: no migration, no disk copy, QEMU's settings as before;
    the guest runs on here (QEMU resumes it when a migration is cancelled). Best effort:
    each step may find nothing to undo, and a QEMU that no longer answers has nothing left."""
    try:
        await _undo(session)
    except QemuError as exc:
        LOG.warning("could not undo a live migration: %s", exc)


async def _undo(session: Session) -> None:
    async with session() as qmp:
        await _each(qmp, [("migrate_cancel", None),
                          ("block-job-cancel", {"device": JOB, "force": True})])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while loop.time() < deadline:
            state = (await qmp.execute("query-migrate")).get("status")
            job = await _job(qmp)
            if state not in ("active", "pre-switchover", "cancelling", "device", "setup") and (
                    job is None or job["status"] == "concluded"):
                break
            await asyncio.sleep(POLL)
        await _each(qmp, [("job-dismiss", {"id": JOB}),
                          ("blockdev-del", {"node-name": TARGET}),
                          ("migrate-set-capabilities", {"capabilities": [
                              {"capability": "pause-before-switchover", "state": False}]}),
                          ("migrate-set-parameters", {"downtime-limit": DEFAULT_DOWNTIME_MS})])


async def _each(qmp: Monitor, commands: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Every command, whether or not the ones before it had anything to do."""
    for command, args in commands:
        try:
            await qmp.execute(command, args)
        except QemuError:
            pass


async def _until(step: Callable[[], Any], what: str, every: float = POLL) -> None:
    """Call the async `step` `every` so many seconds until it returns True (MIGRATE_TIMEOUT)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATE_TIMEOUT
    while not await step():
        if loop.time() > deadline:
            raise QemuError(f"waited {MIGRATE_TIMEOUT:.0f} s for {what}")
        await asyncio.sleep(every)
