"""The serial console log: what `console log show` prints, and how a failed boot shows.

QEMU appends the guest's serial output to console.log. SeaBIOS writes there too (graphics=off),
terminal escapes included; those are dropped, a console log is read as text.
"""

from __future__ import annotations

import re
from pathlib import Path

# CSI sequences (ESC [ ... letter) and two-character escapes such as ESC c (reset).
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_a-z]")
# SeaBIOS, when no disk holds a boot sector: "No bootable device.  Retrying in 60 seconds."
NO_BOOT_DEVICE = "No bootable device"
# What SeaBIOS prints before handing over to a boot sector, and after one it rejected.
BOOTING = "Booting from "
BOOT_FAILED = "Boot failed"


def read(path: Path, max_bytes: int | None = None) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    text = _ESCAPES.sub(b"", data).replace(b"\r\n", b"\n").decode(errors="replace")
    return text[-max_bytes:] if max_bytes else text


def boot_outcome(text: str) -> bool | None:
    """True once the firmware handed over to a boot loader, False if it found nothing to boot
    (under -boot strict=on the root disk is the only candidate, so one rejection is final),
    None while it is still looking."""
    if NO_BOOT_DEVICE in text:
        return False
    start = text.rfind(BOOTING)
    if start < 0:
        return None
    after = text[start:].split("\n", 1)[1:]
    # The line after "Booting from ..." is either SeaBIOS's rejection or the loader's output.
    rest = after[0].strip() if after else ""
    if not rest:
        return None
    return not rest.startswith(BOOT_FAILED)
