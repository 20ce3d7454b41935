"""Live migration of a real guest between two QEMU hosts on this machine: how long a move takes
and how long the guest stands still.

    NIMBUS_QEMU_HOSTS=2 make up                        # two QEMU hosts and the nimbus-guest image
    .venv/bin/python bench/migration.py --rounds 5     # through the cloud
    .venv/bin/python bench/migration.py --drivers      # the QEMU driver alone, no cloud needed

Through the cloud: one nimbus-guest (m1.tiny, no NIC) boots on the first QEMU host and is
live-migrated back and forth with os-migrateLive; per move, POST to ACTIVE on the destination
(the server polled every 50 ms), QEMU's own total and downtime (query-migrate, which the source
host records in <state>/qemu/<host>/live-migrations.jsonl), and the CPU time the Nimbus process
spent on it (all its agents; wall-clock figures swing with the machine's load, CPU time far
less). Exits 0 with a note when the cloud has fewer than two QEMU hosts.

--drivers: two QemuDrivers under a temporary directory, the same guest at 128 MiB moved back
and forth: the driver's whole move (prepare, block copy and memory, finish) and the CPU time
both QEMUs spent on it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from boot import cpu_seconds
from real_boot import login

from nimbus.compute.virt.driver import GuestSpec
from nimbus.compute.virt.qemu import QemuConfig, QemuDriver
from nimbus.compute.virt.qemu.instance import Instance
from nimbus.compute.virt.qemu.process import live_pid
from nimbus.guestimage import LOGIN_MARKER, build_guest_image

MV = {"OpenStack-API-Version": "compute 2.79"}
TIMEOUT = 300.0
STATE = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))


def booted(console: Path) -> bool:
    return console.exists() and LOGIN_MARKER in console.read_text(errors="replace")


async def wait_login(console: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not booted(console):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the guest did not boot within {TIMEOUT:.0f} s")
        await asyncio.sleep(0.2)


def summary(moves: list[dict[str, float]]) -> str:
    return ", ".join(f"{key} {statistics.median(m[key] for m in moves):.{0 if 'ms' in key else 2}f}"
                     for key in moves[0])


# -- through the cloud --------------------------------------------------------------------------

class Cloud:
    def __init__(self, http: httpx.AsyncClient, base: str, headers: dict[str, str]) -> None:
        self.http, self.base, self.headers = http, f"{base}/compute/v2.1", headers

    async def get(self, path: str) -> Any:
        resp = await self.http.get(f"{self.base}{path}", headers=self.headers)
        resp.raise_for_status()
        return resp.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        resp = await self.http.post(f"{self.base}{path}", headers=self.headers, json=body)
        if resp.status_code not in (200, 202):
            raise RuntimeError(f"POST {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    async def wait_active(self, server_id: str, host: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            server = (await self.get(f"/servers/{server_id}"))["server"]
            if server["status"] == "ERROR":
                raise RuntimeError(f"server {server_id} went to ERROR: {server.get('fault')}")
            if server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == host:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"server {server_id} not ACTIVE on {host} within {TIMEOUT:.0f} s")


def recorded(host: str, server_id: str) -> dict[str, Any]:
    """QEMU's figures of the last move of `server_id` that `host` sent."""
    log = STATE / "qemu" / host / "live-migrations.jsonl"
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["uuid"] == server_id][-1]


def cloud_auth(cloud_config: str) -> dict[str, Any]:
    auth: dict[str, Any] = yaml.safe_load(Path(cloud_config).read_text())["clouds"]["nimbus"]["auth"]
    return auth


def nimbus_pid() -> int | None:
    pid_file = STATE / "nimbus.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


async def through_cloud(args: argparse.Namespace) -> int:
    auth = cloud_auth(args.cloud_config)
    base = auth["auth_url"].rstrip("/").removesuffix("/identity")
    pid = nimbus_pid()
    async with httpx.AsyncClient(timeout=120) as http:
        cloud = Cloud(http, base, {"X-Auth-Token": await login(http, base, auth), **MV})
        hosts = sorted(h["service"]["host"] for h in (await cloud.get("/os-hypervisors/detail"))[
            "hypervisors"] if h["hypervisor_type"] == "QEMU")
        images = (await http.get(f"{base}/image/v2/images", params={"name": "nimbus-guest"},
                                 headers=cloud.headers)).json()["images"]
        if len(hosts) < 2 or not images:
            print("migration: skipped (the cloud has not two QEMU hosts and the nimbus-guest "
                  "image: NIMBUS_QEMU_HOSTS=2 make up)")
            return 0
        server_id = (await cloud.post("/servers", {"server": {
            "name": "bench-migration", "imageRef": images[0]["id"], "flavorRef": args.flavor,
            "networks": "none", "availability_zone": f"nova:{hosts[0]}"}}))["server"]["id"]
        try:
            await cloud.wait_active(server_id, hosts[0])
            await wait_login(STATE / "qemu" / hosts[0] / "instances" / server_id / "console.log")
            print(f"migration: nimbus-guest, flavor {args.flavor}, hosts {' '.join(hosts[:2])}, "
                  f"load {os.getloadavg()[0]:.1f}")
            moves = []
            for n in range(1, args.rounds + 1):
                source, dest = hosts[(n - 1) % 2], hosts[n % 2]
                cpu_before = cpu_seconds(pid)
                started = time.monotonic()
                await cloud.post(f"/servers/{server_id}/action", {"os-migrateLive": {
                    "host": dest, "block_migration": "auto"}})
                await cloud.wait_active(server_id, dest)
                seconds = time.monotonic() - started
                cpu_after = cpu_seconds(pid)
                qemu = recorded(source, server_id)
                moves.append({"POST-to-ACTIVE s": seconds, "QEMU total ms": qemu["total_ms"],
                              "downtime ms": qemu["downtime_ms"],
                              "nimbus CPU s": (cpu_after or 0.0) - (cpu_before or 0.0)})
                print(f"  move {n} {source} -> {dest}: {summary(moves[-1:])}, "
                      f"{qemu['transferred_bytes'] / 2**20:.0f} MiB sent")
        finally:
            await http.delete(f"{cloud.base}/servers/{server_id}", headers=cloud.headers)
        print(f"median: {summary(moves)}")
    return 0


# -- the driver alone ---------------------------------------------------------------------------

UUID = "be7c4a11-0000-4000-8000-00000000be7c"


def qemu_cpu_seconds(driver: QemuDriver) -> float:
    """CPU time (user + system) the guest's QEMU on `driver` has used, 0 when none runs."""
    inst = Instance(driver.instances_dir / UUID)
    return cpu_seconds(live_pid(inst.pid_file, inst.marker)) or 0.0


async def driver_move(source: QemuDriver, dest: QemuDriver, spec: GuestSpec) -> tuple[float, float]:
    """The move's wall-clock seconds and the CPU seconds both QEMUs used meanwhile."""
    cpu_before = qemu_cpu_seconds(source)
    source_cpu = cpu_before

    async def sample_source() -> None:
        # The source's QEMU quits at the end of the move: its last reading stands for it.
        nonlocal source_cpu
        while True:
            source_cpu = qemu_cpu_seconds(source) or source_cpu
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample_source())
    started = time.monotonic()
    try:
        uri = await dest.prepare_incoming(spec)
        await source.live_migrate(UUID, uri, block_migration=True)
        await dest.finish_incoming(UUID)
    finally:
        sampler.cancel()
    seconds = time.monotonic() - started
    await source.destroy(UUID)  # as the source's agent does once the guest has left
    # The destination's QEMU was started for this move: all its CPU time is the move's.
    return seconds, source_cpu - cpu_before + qemu_cpu_seconds(dest)


async def drivers_alone(args: argparse.Namespace) -> int:
    if shutil.which("qemu-system-x86_64") is None:
        print("migration: skipped (qemu-system-x86_64 is not installed)")
        return 0
    image = build_guest_image(STATE / "guest-image")
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as tmp:
        root = Path(tmp)
        hosts: dict[str, tuple[QemuDriver, Path]] = {}
        for name in ("bench-a", "bench-b"):
            cache = root / "cache" / name
            cache.mkdir(parents=True)
            shutil.copyfile(image.disk, cache / "guest.qcow2")  # each host's own image cache
            hosts[name] = (QemuDriver(QemuConfig(hostname=name, state_dir=root / "qemu" / name,
                                                 probe_kernel=image.kernel)),
                           cache / "guest.qcow2")
        (a, a_image), (b, b_image) = hosts.values()
        spec = GuestSpec(uuid=UUID, name="bench-mover", vcpus=1, memory_mb=128, root_gb=1,
                         image_path=a_image, image_format="qcow2")
        moves = []
        try:
            await a.spawn(spec)
            await wait_login(Instance(a.instances_dir / UUID).console)
            print(f"migration: QEMU driver alone, nimbus-guest 128 MiB, {await a.accelerator()}, "
                  f"load {os.getloadavg()[0]:.1f}")
            for n in range(1, args.rounds + 1):
                there, here = ("bench-a", "bench-b") if n % 2 else ("bench-b", "bench-a")
                (source, _), (dest, dest_image) = hosts[there], hosts[here]
                wall, cpu = await driver_move(source, dest,
                                              dataclasses.replace(spec, image_path=dest_image))
                stats = source.last_sent(UUID)
                assert stats is not None
                moves.append({"move s": wall, "QEMU total ms": stats.total_ms,
                              "downtime ms": stats.downtime_ms, "QEMU CPU s": cpu})
                print(f"  move {n} {source.config.hostname} -> {dest.config.hostname}: "
                      f"{summary(moves[-1:])}, {stats.transferred_bytes / 2**20:.0f} MiB sent")
        finally:
            for driver, _ in hosts.values():
                await driver.destroy(UUID)
        print(f"median: {summary(moves)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cloud-config", default=str(STATE / "clouds.yaml"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flavor", default="1", help="flavor id (default 1, m1.tiny)")
    parser.add_argument("--drivers", action="store_true",
                        help="two QEMU drivers in this process, no cloud")
    arguments = parser.parse_args()
    sys.exit(asyncio.run((drivers_alone if arguments.drivers else through_cloud)(arguments)))
