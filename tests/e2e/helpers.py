"""Shared steps of the CLI end-to-end tests: unique names, waiting for a resource's status or
for it to be gone, and the files the volume backend keeps."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.e2e.conftest import Cli, RunningCloud

WAIT = 60.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_status(cli: Cli, kind: list[str], name: str, *wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        found: dict[str, Any] = cli.json(*kind, "show", name)
        if found["status"] in wanted:
            return found
        assert time.monotonic() < deadline, f"{name} still {found['status']}, wanted {wanted}"
        time.sleep(0.3)


def wait_gone(cli: Cli, kind: list[str], name: str) -> None:
    deadline = time.monotonic() + WAIT
    while cli.run(*kind, "show", name, check=False).returncode == 0:
        assert time.monotonic() < deadline, f"{name} is still there"
        time.sleep(0.3)


def volume_files(nimbus: RunningCloud) -> list[str]:
    root = nimbus.state_dir / "volumes"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []
