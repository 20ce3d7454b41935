"""One guest's directory under the driver's state directory: everything QEMU and we need.

    <state_dir>/instances/<uuid>/
        launch.json     how to start QEMU again: argv and the network namespace
        disk.qcow2      root disk, an overlay on the host's cached image
        config.iso      config drive (label config-2)
        console.log     serial console, appended across boots
        qemu.pid        written by QEMU (-pidfile)
        qmp.sock        QMP monitor
        qemu.log        QEMU's stderr
        suspend.state   the saved guest while suspended
        volumes.json    attached volumes (volumes.py)
        rescue.qcow2    the rescue disk, while in rescue
        incoming        present while a live-migrating guest arrives, until it runs here

The directory is the guest: it exists from spawn to destroy, whether QEMU runs or not.
A unix socket's path must fit in 108 bytes and state directories can be deeper, so QEMU and
the driver reach qmp.sock through a short symlink to the directory (`short_path`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Launch:
    argv: list[str]
    netns: str | None


@dataclasses.dataclass(frozen=True)
class Instance:
    path: Path

    @property
    def uuid(self) -> str:
        return self.path.name

    @property
    def launch_file(self) -> Path:
        return self.path / "launch.json"

    @property
    def disk(self) -> Path:
        return self.path / "disk.qcow2"

    @property
    def config_drive(self) -> Path:
        return self.path / "config.iso"

    @property
    def rescue_disk(self) -> Path:
        """Present while the guest is in rescue: an overlay on the rescue image."""
        return self.path / "rescue.qcow2"

    @property
    def incoming_mark(self) -> Path:
        return self.path / "incoming"

    @property
    def console(self) -> Path:
        return self.path / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.path / "qemu.pid"

    @property
    def qmp(self) -> Path:
        return self.path / "qmp.sock"

    @property
    def short_path(self) -> Path:
        """A symlink to the directory, short enough for a unix socket path under it."""
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"nimbus-qemu-{digest}"

    @property
    def qmp_short(self) -> Path:
        """qmp.sock by its short path (see qmp_link)."""
        return self.short_path / "qmp.sock"

    def qmp_link(self) -> Path:
        """qmp.sock by its short path; makes the symlink if it is missing (a /tmp cleaner)."""
        link = self.short_path
        if not link.is_symlink():
            tmp = link.with_name(f"{link.name}.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.path.resolve())
            tmp.replace(link)
        return self.qmp_short

    @property
    def log(self) -> Path:
        return self.path / "qemu.log"

    @property
    def saved_state(self) -> Path:
        return self.path / "suspend.state"

    @property
    def marker(self) -> str:
        """What QEMU's command line of this instance, and only this one, contains."""
        return str(self.path)

    def save_launch(self, launch: Launch) -> None:
        tmp = self.launch_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(launch)))
        tmp.replace(self.launch_file)

    def load_launch(self) -> Launch:
        data = json.loads(self.launch_file.read_text())
        return Launch(argv=list(data["argv"]), netns=data["netns"])
