"""QEMU processes that outlive the agent: started with -daemonize, found again by pid file.

    pid = live_pid(instance)            # None when no QEMU of this instance runs
    await start(argv, netns=..., stderr_log=...)
    await kill(instance)

QEMU daemonizes itself (fork, setsid) only once the VM is set up, so a failure to open a disk
or a tap ends the launcher with QEMU's own message; a live guest belongs to no agent and is
adopted again by whichever agent reads its pid file next. A pid is trusted only while
/proc/<pid>/cmdline still names the instance directory: pids are reused.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from nimbus.compute.virt.qemu.errors import QemuError

LAUNCH_TIMEOUT = 120.0
EXIT_POLL = 0.05


def live_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in `pid_file` if that process runs and its command line contains `marker`."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    if state in ("Z", "X") or marker.encode() not in cmdline:
        return None
    return pid


async def launch(argv: list[str], *, netns: str | None, stderr_log: Path) -> None:
    """Run QEMU with -daemonize (inside `netns` if given) and wait for it to detach.

    Raises QemuError with QEMU's own complaint when it refuses to start.
    """
    if netns is not None:
        # QEMU opens each tap by name, so it must live in the namespace that holds them.
        argv = ["ip", "netns", "exec", netns, *argv]
    with stderr_log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=err, start_new_session=True)
        try:
            rc = await asyncio.wait_for(proc.wait(), LAUNCH_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise QemuError(f"QEMU did not start within {LAUNCH_TIMEOUT:.0f} s") from None
    if rc != 0:
        raise QemuError(f"QEMU refused to start (exit {rc}): {tail(stderr_log)}")


async def wait_gone(pid_file: Path, marker: str, timeout: float) -> bool:
    """Whether the QEMU of `pid_file` has exited within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while live_pid(pid_file, marker) is not None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(EXIT_POLL)
    return True


async def kill(pid_file: Path, marker: str) -> None:
    """SIGKILL the instance's QEMU, if it runs, and wait until it is gone."""
    pid = live_pid(pid_file, marker)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if not await wait_gone(pid_file, marker, 30.0):
        raise QemuError(f"QEMU {pid} survived SIGKILL for 30 s")


def tail(path: Path, limit: int = 2000) -> str:
    """The end of a log, as one line, for error messages."""
    try:
        text = path.read_bytes()[-limit:].decode(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.splitlines() if line.strip()) or "(empty log)"
