"""QMP, one short connection per use: `async with Monitor(path) as qmp: await qmp.execute(...)`.

QEMU serves one QMP client at a time, so the driver holds a per-guest lock around each use and
never keeps a connection open between operations (an agent restart then loses nothing).
qemu.qmp's own errors are mapped to QemuError here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any

from qemu.qmp import ExecuteError, QMPClient, QMPError

from nimbus.compute.virt.qemu.errors import QemuError

CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 30.0


class Monitor:
    def __init__(self, socket: Path, *, name: str = "nimbus") -> None:
        self.socket = socket
        self.client = QMPClient(name)

    async def __aenter__(self) -> Monitor:
        try:
            await asyncio.wait_for(self.client.connect(str(self.socket)), CONNECT_TIMEOUT)
        except (OSError, QMPError, TimeoutError) as exc:
            raise QemuError(f"QMP at {self.socket} does not answer: {exc}") from exc
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        # After quit or a guest power-off, QEMU closes the socket first, and disconnect()
        # re-raises that end of file.
        with contextlib.suppress(EOFError, OSError, QMPError):
            await self.client.disconnect()

    async def execute(self, command: str, arguments: dict[str, Any] | None = None, *,
                      timeout: float = COMMAND_TIMEOUT) -> Any:
        try:
            return await asyncio.wait_for(self.client.execute(command, arguments), timeout)
        except ExecuteError as exc:
            raise QemuError(f"QMP {command} failed: {exc}") from exc
        except (EOFError, OSError, QMPError, TimeoutError) as exc:
            raise QemuError(f"QMP {command} got no answer: {exc!r}") from exc

    async def status(self) -> str:
        """query-status's run state: running, paused, inmigrate, postmigrate, shutdown, ..."""
        reply = await self.execute("query-status")
        return str(reply["status"])
