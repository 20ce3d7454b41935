"""One error type for everything that stops the build, and the subprocess helper raising it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class GuestImageError(Exception):
    """The guest image could not be built; the message says what to fix."""


# The Debian package that provides each host tool the build runs, for the error message.
TOOL_PACKAGES = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    "sfdisk": "fdisk",
    "mkfs.fat": "dosfstools",
    "mcopy": "mtools",
    "syslinux": "syslinux",
    "qemu-img": "qemu-utils",
}


def require_tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOL_PACKAGES.items() if shutil.which(tool) is None})
    if missing:
        names = " ".join(missing)
        raise GuestImageError(f"the guest image needs {names}: apt-get install -y {names}")


def run(argv: list[str], *, cwd: Path | None = None, stdin: str | None = None) -> str:
    """Run a host tool; its stderr becomes the error message when it fails."""
    # mtools refuses a FAT image whose geometry looks odd to it unless told not to check.
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C"}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          input=stdin or "")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise GuestImageError(f"{' '.join(argv)} failed ({done.returncode}): {' / '.join(detail)}")
    return done.stdout
