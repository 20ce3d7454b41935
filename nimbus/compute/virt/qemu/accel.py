"""Which accelerator this host really has: KVM where a guest actually runs on it, else TCG.

/dev/kvm can open, and even run the firmware, where Linux never prints its first line (as in
some sandboxes). So the probe starts a guest the way the driver would (`-cpu host`) and waits
for a Linux kernel's banner when it is given one, else for SeaBIOS's, which is weaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

PROBE_TIMEOUT = 10.0


async def kvm_works(binary: str, kernel: Path | None) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    if kernel is not None and not await asyncio.to_thread(kernel.is_file):
        kernel = None
    boot = ["-kernel", str(kernel), "-append", "console=ttyS0 earlyprintk=ttyS0"] if kernel else []
    banner = b"Linux version" if kernel else b"SeaBIOS"
    with tempfile.TemporaryDirectory(prefix="nimbus-kvm-probe-") as tmp:
        console = Path(tmp, "console")
        proc = await asyncio.create_subprocess_exec(
            binary, "-accel", "kvm", "-cpu", "host", "-m", "128", "-nodefaults",
            "-no-user-config", "-display", "none", "-machine", "pc,graphics=off", "-no-reboot",
            "-serial", f"file:{console}", *boot,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + PROBE_TIMEOUT
            while loop.time() < deadline and proc.returncode is None:
                if _printed(console, banner):
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def _printed(console: Path, banner: bytes) -> bool:
    return console.exists() and banner in console.read_bytes()


async def version(binary: str) -> tuple[int, int, int]:
    """(major, minor, micro) of `binary --version`."""
    proc = await asyncio.create_subprocess_exec(
        binary, "--version", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    # "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)"
    words = out.decode().split()
    numbers = words[words.index("version") + 1].split(".") if "version" in words else []
    parts = [int(p) for p in numbers[:3] if p.isdigit()]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]
