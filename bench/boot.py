"""Server boots with the fake driver against a running all-in-one (`make up`), over loopback.

    NIMBUS_QEMU_HOST=off NIMBUS_FAKE_HOSTS=10 \\
        NIMBUS_COMPUTE__FAKE_VCPUS=1024 NIMBUS_COMPUTE__FAKE_MEMORY_MB=2097152 \\
        NIMBUS_COMPUTE__QUOTAS__INSTANCES=-1 NIMBUS_COMPUTE__QUOTAS__CORES=-1 \\
        NIMBUS_COMPUTE__QUOTAS__RAM=-1 make up
    .venv/bin/python bench/boot.py                          # 200 boots at concurrency 20
    .venv/bin/python bench/boot.py --count 50 --concurrency 5 --list-sizes 1000

Phases: boots one at a time (POST-to-ACTIVE latency of an idle cloud), then --count boots at
--concurrency (boots/s and p50/p95/p99 POST-to-ACTIVE), then `GET /servers/detail` latency
with each of --list-sizes servers present (created in batches with max_count), and the
server process's resident memory when idle and at its peak (from <state>/nimbus.pid). Each
boot phase also prints the server's CPU time per boot (user + system from /proc/<pid>/stat,
status polls included): on a shared machine it varies far less than the wall-clock figures.
It also times a fixed Python workload before and after (the "reference" row): the machines
here differ and drift by up to 2x, and the CPU per boot moves with them.
A shared poller lists the servers that recently became ACTIVE (a brief list with changes-since
and status filters; ERROR every fifth poll) every --poll seconds during the single boots and
every 0.2 s under concurrency, so the latency resolution is that interval. Everything it
created is deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

MV = {"OpenStack-API-Version": "compute 2.79"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time the server process has used so far."""
    if pid is None:
        return None
    try:
        # The command name (field 2) may hold spaces: count fields after its closing paren.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reference_ms() -> float:
    """How fast this machine runs Python right now: the best of three runs of a fixed,
    interpreter-bound workload (dict and string work, as a request's is), in ms. These shared
    machines differ and drift by up to 2x; the server's CPU per boot scales with this figure,
    so it is what figures from different machines or hours are compared by."""
    def work() -> int:
        table: dict[str, int] = {}
        for i in range(200_000):
            key = f"k{i % 1000}"
            table[key] = table.get(key, 0) + len(key)
        return len(table)

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def cpu_per_boot(before: float | None, after: float | None, boots: int) -> str:
    if before is None or after is None or not boots:
        return ""
    return f"  server CPU {(after - before) / boots * 1000:.1f} ms/boot"


def rss_mb(pid: int | None, field: str = "VmRSS") -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Cloud:
    def __init__(self, base: str, auth: dict[str, Any]) -> None:
        self.base = base.rstrip("/")
        self.auth = auth
        self.http = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64))
        self.token = ""

    async def login(self) -> None:
        a = self.auth
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": a["username"], "password": a["password"],
            "domain": {"name": a.get("user_domain_name", "Default")}}}},
            "scope": {"project": {"name": a["project_name"],
                                  "domain": {"name": a.get("project_domain_name", "Default")}}}}}
        resp = await self.http.post(f"{self.base}/identity/v3/auth/tokens", json=body)
        resp.raise_for_status()
        self.token = resp.headers["X-Subject-Token"]

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **MV}

    async def image(self) -> str:
        headers = {"X-Auth-Token": self.token}
        resp = await self.http.post(f"{self.base}/image/v2/images", headers=headers, json={
            "name": "bench-boot", "disk_format": "raw", "container_format": "bare"})
        resp.raise_for_status()
        image_id: str = resp.json()["id"]
        up = await self.http.put(f"{self.base}/image/v2/images/{image_id}/file",
                                 content=b"\0" * 65536,
                                 headers={**headers, "Content-Type": "application/octet-stream"})
        up.raise_for_status()
        return image_id

    async def boot(self, image: str, name: str, count: int = 1) -> list[str]:
        body: dict[str, Any] = {"server": {"name": name, "imageRef": image, "flavorRef": "42",
                                           "networks": "none"}}
        if count > 1:
            body["server"].update(min_count=count, max_count=count, return_reservation_id=True)
        resp = await self.http.post(f"{self.base}/compute/v2.1/servers", json=body,
                                    headers=self.headers())
        if resp.status_code != 202:
            raise RuntimeError(f"boot failed: {resp.status_code} {resp.text[:300]}")
        if count > 1:
            return []
        return [resp.json()["server"]["id"]]

    async def finished_since(self, since: dt.datetime, status: str) -> list[str]:
        """Ids of the servers that went to `status` (ACTIVE or ERROR) since `since`, or a
        little before: a brief list filtered by status, the cheapest way to see builds end,
        so that the watching costs the server little of the CPU a boot is measured by."""
        resp = await self.http.get(f"{self.base}/compute/v2.1/servers", headers=self.headers(),
                                   params={"changes-since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                           "status": status})
        resp.raise_for_status()
        return [server["id"] for server in resp.json()["servers"]]


# How far before the previous poll the next one starts: a change is seen once committed, so
# this covers a commit that lands that much after its updated_at. The server keeps whole
# seconds and the stamp is cut to them too, so each poll asks for 1-2 s more than the interval.
COMMIT_MARGIN = dt.timedelta(seconds=1)
# Builds that fail are counted, not timed: ERROR is asked for on every fifth poll only.
ERROR_EVERY = 5


class Watcher:
    """One poller for every boot in flight: when did each server first show ACTIVE or ERROR."""

    def __init__(self, cloud: Cloud, interval: float) -> None:
        self.cloud, self.interval = cloud, interval
        self.done: dict[str, tuple[float, str]] = {}
        self.waiters: dict[str, asyncio.Future[tuple[float, str]]] = {}
        self.fallbacks = 0

    async def run(self) -> None:
        since = error_since = dt.datetime.now(dt.UTC) - COMMIT_MARGIN
        for poll in itertools.count():
            polled = dt.datetime.now(dt.UTC)
            statuses = ("ACTIVE", "ERROR") if poll % ERROR_EVERY == 0 else ("ACTIVE",)
            try:
                finished = [(server_id, status) for status in statuses
                            for server_id in await self.cloud.finished_since(
                                since if status == "ACTIVE" else error_since, status)]
            except Exception as exc:  # one failed poll must not end the watching
                print(f"poll failed: {exc!r}", file=sys.stderr)
                await asyncio.sleep(self.interval)
                continue
            if "ERROR" in statuses:
                error_since = polled - COMMIT_MARGIN
            for server_id, status in finished:
                if server_id not in self.done:
                    self.done[server_id] = (time.monotonic(), status)
                    waiter = self.waiters.pop(server_id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(self.done[server_id])
            since = polled - COMMIT_MARGIN
            await asyncio.sleep(self.interval)

    async def wait(self, server_id: str) -> tuple[float, str]:
        """When the server first showed ACTIVE or ERROR. Should the shared poll miss it, the
        server is asked directly every second (counted in `fallbacks`)."""
        future = self.waiters.setdefault(server_id, asyncio.get_running_loop().create_future())
        deadline = time.monotonic() + 300
        while server_id not in self.done:
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout=3)
            except TimeoutError:
                resp = await self.cloud.http.get(
                    f"{self.cloud.base}/compute/v2.1/servers/{server_id}", headers=self.cloud.headers())
                status = resp.json()["server"]["status"] if resp.status_code == 200 else "GONE"
                if status in ("ACTIVE", "ERROR", "GONE"):
                    self.fallbacks += 1
                    self.done[server_id] = (time.monotonic(), status)
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"{server_id} still {status} after 300 s") from None
        self.waiters.pop(server_id, None)
        return self.done[server_id]


async def boots(cloud: Cloud, watcher: Watcher, image: str, count: int, concurrency: int,
                created: list[str]) -> tuple[float, list[float], int]:
    """Boot `count` servers, `concurrency` at a time; wall time, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            start = time.monotonic()
            (server_id,) = await cloud.boot(image, f"bench-{i}")
            created.append(server_id)
            at, status = await watcher.wait(server_id)
            if status == "ACTIVE":
                latencies.append(at - start)
            else:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.monotonic() - started, latencies, errors


async def list_latency(cloud: Cloud, repeats: int = 5) -> float:
    timings = []
    for _ in range(repeats):
        start = time.monotonic()
        resp = await cloud.http.get(f"{cloud.base}/compute/v2.1/servers/detail",
                                    headers=cloud.headers())
        resp.raise_for_status()
        timings.append(time.monotonic() - start)
    return statistics.median(timings)


async def total_servers(cloud: Cloud) -> int:
    count, marker = 0, None
    while True:
        params = {"limit": "1000", **({"marker": marker} if marker else {})}
        resp = await cloud.http.get(f"{cloud.base}/compute/v2.1/servers", params=params,
                                    headers=cloud.headers())
        page = resp.json()["servers"]
        count += len(page)
        if len(page) < 1000:
            return count
        marker = page[-1]["id"]


async def fill_to(cloud: Cloud, image: str, size: int, batch: int = 100) -> None:
    """Create servers in batches (max_count) until `size` exist, waiting for the builds."""
    while (have := await total_servers(cloud)) < size:
        await cloud.boot(image, "bench-fill", count=min(batch, size - have))
        await asyncio.sleep(0.5)
    while True:  # until nothing is still building
        resp = await cloud.http.get(f"{cloud.base}/compute/v2.1/servers",
                                    params={"status": "BUILD", "limit": "1"}, headers=cloud.headers())
        if not resp.json()["servers"]:
            return
        await asyncio.sleep(0.5)


async def delete_all(cloud: Cloud) -> None:
    gate = asyncio.Semaphore(20)

    async def delete(server_id: str) -> None:
        async with gate:
            await cloud.http.delete(f"{cloud.base}/compute/v2.1/servers/{server_id}",
                                    headers=cloud.headers())

    while True:
        resp = await cloud.http.get(f"{cloud.base}/compute/v2.1/servers", params={"limit": "1000"},
                                    headers=cloud.headers())
        page = [s["id"] for s in resp.json()["servers"]]
        if not page:
            return
        await asyncio.gather(*(delete(s) for s in page))
        await asyncio.sleep(1)


async def main(args: argparse.Namespace, config: dict[str, Any], pid: int | None) -> None:
    base = args.url or config["auth"]["auth_url"].rsplit("/identity", 1)[0]
    if not base.startswith(("http://127.", "http://localhost")):
        sys.exit("bench/boot.py talks to loopback clouds only")
    reference_before = reference_ms()
    cloud = Cloud(base, config["auth"])
    await cloud.login()
    idle_rss = rss_mb(pid)
    image = await cloud.image()
    watcher = Watcher(cloud, args.poll)
    poller = asyncio.create_task(watcher.run())
    created: list[str] = []
    rows: list[tuple[str, str]] = []
    try:
        cpu = cpu_seconds(pid)
        _, single, single_errors = await boots(cloud, watcher, image, args.single, 1, created)
        cpu, cpu_single = cpu_seconds(pid), cpu
        rows.append(("boot one at a time", f"n={len(single)}  p50 {percentile(single, 50) * 1000:.0f} ms"
                     f"  p95 {percentile(single, 95) * 1000:.0f} ms  errors {single_errors}"
                     + cpu_per_boot(cpu_single, cpu, len(single))))
        # Polling every few ms would load the server as much as the boots do: under
        # concurrency the poll interval grows to 0.2 s (the latency resolution, against
        # latencies near a second).
        watcher.interval = max(args.poll, 0.2)
        cpu = cpu_seconds(pid)
        wall, lat, errors = await boots(cloud, watcher, image, args.count, args.concurrency, created)
        rows.append((f"{args.count} boots at concurrency {args.concurrency}",
                     f"{len(lat) / wall:.1f} boots/s  p50 {percentile(lat, 50) * 1000:.0f} ms  "
                     f"p95 {percentile(lat, 95) * 1000:.0f} ms  p99 {percentile(lat, 99) * 1000:.0f} ms"
                     f"  errors {errors}" + cpu_per_boot(cpu, cpu_seconds(pid), len(lat))))
        if watcher.fallbacks:
            rows.append(("boots the poll missed (timed late)", str(watcher.fallbacks)))
        poller.cancel()
        for size in args.list_sizes:
            await fill_to(cloud, image, size)
            took = await list_latency(cloud)
            rows.append((f"GET /servers/detail, {size} servers", f"{took * 1000:.0f} ms (median of 5)"))
        rows.append(("reference Python workload, before/after",
                     f"{reference_before:.0f} ms / {reference_ms():.0f} ms"))
        rows.append(("server RSS idle / peak",
                     f"{idle_rss or float('nan'):.0f} MB / {rss_mb(pid, 'VmHWM') or float('nan'):.0f} MB"
                     if pid else "no nimbus.pid in the state directory"))
    finally:
        poller.cancel()
        if not args.keep:
            await delete_all(cloud)
        await cloud.http.delete(f"{base}/image/v2/images/{image}", headers={"X-Auth-Token": cloud.token})
        await cloud.http.aclose()
    print(f"compute boots at {base} (fake driver), {os.cpu_count()} CPUs shared by client and server")
    for label, value in rows:
        print(f"  {label:<40} {value}")


def parse() -> argparse.Namespace:
    state = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--cloud-config", default=str(state / "clouds.yaml"))
    parser.add_argument("--cloud", default="nimbus")
    parser.add_argument("--single", type=int, default=10, help="boots one at a time first")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between status polls")
    parser.add_argument("--list-sizes", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[1000, 10000])
    parser.add_argument("--keep", action="store_true", help="leave the servers it created")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    pid_file = Path(arguments.cloud_config).parent / "nimbus.pid"
    asyncio.run(main(arguments,
                     yaml.safe_load(Path(arguments.cloud_config).read_text())["clouds"][arguments.cloud],
                     int(pid_file.read_text()) if pid_file.exists() else None))
