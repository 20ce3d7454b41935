"""`ip` and friends as asyncio subprocesses, always aimed at a named network namespace.

    await ip.ensure_netns("nimbus-1a2b3c4d")
    await ip.run("link", "add", "brq123", "type", "bridge", netns="nimbus-1a2b3c4d")
    await ip.exec_in("qdhcp-...", "dnsmasq", ...)      # any program inside a namespace

A failed command raises CommandFailed with its stderr: the one place the dataplane's
foreign errors are mapped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
TIMEOUT = 30.0


class CommandFailed(Exception):
    def __init__(self, argv: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} failed ({returncode}): {stderr.strip()}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


async def _exec(argv: tuple[str, ...], stdin: str | None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else None), TIMEOUT)
    except BaseException:  # a timeout or a cancellation leaves no command behind
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode or 0, err.decode(errors="replace"))
    return out.decode(errors="replace")


async def run(*args: str, netns: str, stdin: str | None = None) -> str:
    """`ip -n NETNS ARGS...`; its stdout."""
    return await _exec(("ip", "-n", netns, *args), stdin)


async def exec_in(netns: str, *argv: str, stdin: str | None = None) -> str:
    """A program run inside the namespace (`ip netns exec`); its stdout."""
    return await _exec(("ip", "netns", "exec", netns, *argv), stdin)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def list_netns(prefix: str) -> list[str]:
    return sorted(p.name for p in NETNS_DIR.glob(f"{prefix}*")) if NETNS_DIR.is_dir() else []


async def ensure_netns(name: str) -> bool:
    """Create the namespace with loopback up and IPv6 off; True if it was made now.

    IPv6 is off inside because the dataplane serves IPv4 only: no link-local addresses
    appear on bridges that should be invisible switches.
    """
    if netns_exists(name):
        return False
    try:
        await _exec(("ip", "netns", "add", name), None)
    except CommandFailed:
        if not netns_exists(name):  # another task won the race: fine
            raise
        return False
    await run("link", "set", "lo", "up", netns=name)
    await set_sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1")
    await set_sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1")
    return True


async def set_sysctl(netns: str, key: str, value: str) -> None:
    """A per-namespace sysctl, written through /proc inside the namespace (no procps needed)."""
    path = "/proc/sys/" + key.replace(".", "/")
    await exec_in(netns, "sh", "-c", 'echo "$1" > "$2"', "sh", value, path)


async def delete_netns(name: str) -> None:
    """Remove the namespace and every device in it. Idempotent."""
    if not netns_exists(name):
        return
    try:
        await _exec(("ip", "netns", "delete", name), None)
    except CommandFailed:
        if netns_exists(name):
            raise


async def links(netns: str) -> dict[str, dict[str, Any]]:
    """The namespace's links by name, as `ip -j link` reports them; {} if it does not exist."""
    if not netns_exists(netns):
        return {}
    found: list[dict[str, Any]] = json.loads(await run("-j", "-d", "link", "show", netns=netns)
                                             or "[]")
    return {link["ifname"]: link for link in found}


async def delete_link(netns: str, name: str) -> None:
    """Idempotent: a link (or namespace) already gone is fine."""
    try:
        await run("link", "delete", name, netns=netns)
    except CommandFailed:
        if name in await links(netns):
            raise
