"""Shared steps of the QEMU integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

# A wait's default: a boot under TCG on a loaded machine takes 5-20 s, sometimes far longer.
BOOT_TIMEOUT = 240.0


async def wait_for(what: str, check: Callable[[], object], timeout: float = BOOT_TIMEOUT) -> None:
    """Poll `check` every 0.2 s; fail when it has not held within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        await asyncio.sleep(0.2)
