"""Real guest boots: POST /servers to the guest's login marker through Nimbus, next to plain
qemu-system-x86_64 booting the same image to the same marker, in one run, alternating.

    make up          # with qemu-system-x86_64 installed: a QEMU host and the nimbus-guest image
    .venv/bin/python bench/real_boot.py --rounds 3

Through Nimbus: API, scheduler, placement claim, image cache, qcow2 overlay, config drive, QEMU
start and boot; the marker is watched in the guest's console log on this host (polling the
console API would add its own latency). Plain: QEMU with the same accelerator, memory and disk
image (snapshot=on), started directly. Prints each pair, the medians and Nimbus's overhead.
Exits 0 with a note when the cloud has no QEMU host (a fake-only cloud under `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
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

MARKER = b"nimbus-guest login:"
MV = {"OpenStack-API-Version": "compute 2.79"}
TIMEOUT = 300.0


async def login(http: httpx.AsyncClient, base: str, auth: dict[str, Any]) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "password": auth["password"],
        "domain": {"name": auth.get("user_domain_name", "Default")}}}},
        "scope": {"project": {"name": auth["project_name"],
                              "domain": {"name": auth.get("project_domain_name", "Default")}}}}}
    resp = await http.post(f"{base}/identity/v3/auth/tokens", json=body)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


def has_marker(console: Path) -> bool:
    return console.exists() and MARKER in console.read_bytes()


def console_of(state: Path, server_id: str) -> Path | None:
    return next(iter(state.glob(f"qemu/*/instances/{server_id}/console.log")), None)


async def wait_marker(console: Path, started: float) -> float:
    while time.monotonic() - started < TIMEOUT:
        if has_marker(console):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no marker in {console} within {TIMEOUT:.0f} s")


async def nimbus_boot(http: httpx.AsyncClient, base: str, headers: dict[str, str], image: str,
                      flavor: str, state: Path, host: str) -> tuple[float, str]:
    started = time.monotonic()
    # Forced onto the QEMU host (an admin's zone:host), as `make up` runs fake hosts beside it.
    resp = await http.post(f"{base}/compute/v2.1/servers", headers=headers, json={"server": {
        "name": "bench-real-boot", "imageRef": image, "flavorRef": flavor, "networks": "none",
        "availability_zone": f"nova:{host}"}})
    if resp.status_code != 202:
        raise RuntimeError(f"boot refused: {resp.status_code} {resp.text[:300]}")
    server_id: str = resp.json()["server"]["id"]
    while time.monotonic() - started < TIMEOUT:
        found = console_of(state, server_id)
        if found is not None:
            return await wait_marker(found, started), server_id
        shown = (await http.get(f"{base}/compute/v2.1/servers/{server_id}", headers=headers)).json()
        if shown["server"]["status"] == "ERROR":
            raise RuntimeError(f"server {server_id} went to ERROR: {shown['server'].get('fault')}")
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server {server_id} has no console log within {TIMEOUT:.0f} s")


async def plain_boot(disk: Path, memory_mb: int, accel: str) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-real-boot-") as tmp:
        console = Path(tmp, "console.log")
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            "qemu-system-x86_64", "-accel", accel, "-m", str(memory_mb), "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", f"file:{console}",
            "-drive", f"file={disk},if=virtio,format=qcow2,snapshot=on",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            return await wait_marker(console, started)
        finally:
            proc.kill()
            await proc.wait()


async def main(args: argparse.Namespace, cloud: dict[str, Any]) -> int:
    state = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    base = cloud["auth"]["auth_url"].rstrip("/").removesuffix("/identity")
    disk = state / "guest-image" / "disk.qcow2"
    async with httpx.AsyncClient(timeout=120) as http:
        headers = {"X-Auth-Token": await login(http, base, cloud["auth"]), **MV}
        hypervisors = (await http.get(f"{base}/compute/v2.1/os-hypervisors/detail",
                                      headers=headers)).json()["hypervisors"]
        qemu = [h for h in hypervisors if h["hypervisor_type"] == "QEMU"]
        images = (await http.get(f"{base}/image/v2/images", params={"name": "nimbus-guest"},
                                 headers=headers)).json()["images"]
        if not qemu or not images or not disk.exists() or shutil.which("qemu-system-x86_64") is None:
            print("real_boot: skipped (the cloud has no QEMU host or no nimbus-guest image)")
            return 0
        flavor = (await http.get(f"{base}/compute/v2.1/flavors/{args.flavor}",
                                 headers=headers)).json()["flavor"]
        accel = "kvm" if '"kvm"' in qemu[0].get("cpu_info", "") else "tcg"
        print(f"real_boot: image nimbus-guest, flavor {flavor['name']} ({flavor['ram']} MiB), "
              f"{accel}, load {os.getloadavg()[0]:.1f}")
        through, plain = [], []
        for n in range(1, args.rounds + 1):
            seconds, server_id = await nimbus_boot(http, base, headers, images[0]["id"],
                                                   flavor["id"], state, qemu[0]["service"]["host"])
            await http.delete(f"{base}/compute/v2.1/servers/{server_id}", headers=headers)
            through.append(seconds)
            plain.append(await plain_boot(disk, flavor["ram"], accel))
            print(f"  round {n}: nimbus POST-to-marker {through[-1]:.2f} s, "
                  f"plain qemu {plain[-1]:.2f} s")
        nimbus_median, plain_median = statistics.median(through), statistics.median(plain)
        print(f"median: nimbus {nimbus_median:.2f} s, plain qemu {plain_median:.2f} s, "
              f"nimbus adds {(nimbus_median / plain_median - 1) * 100:.0f}%")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    state_dir = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    parser.add_argument("--cloud-config", default=str(state_dir / "clouds.yaml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flavor", default="1", help="flavor id (default 1, m1.tiny)")
    arguments = parser.parse_args()
    config = yaml.safe_load(Path(arguments.cloud_config).read_text())["clouds"]["nimbus"]
    sys.exit(asyncio.run(main(arguments, config)))
