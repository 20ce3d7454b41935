"""Image upload and download throughput against a running all-in-one (`make up`), over loopback.

    .venv/bin/python bench/image.py                       # .nimbus/clouds.yaml, 256 MB, 5 runs
    .venv/bin/python bench/image.py --size-mb 1024 --runs 1 --pid 12345 --stat best

It prints the throughput of `PUT /v2/images/{id}/file` (the server computes md5 and sha512 as
the bytes arrive and fsyncs the file before the image goes active) and of `GET .../file` (the
client checking Content-MD5 as the bytes arrive, as openstacksdk does; then also fsyncing the
file, as nova's image fetch does; and neither), next to two copies of the same file on the same
disk (the server's state directory): a page-cache copy (`shutil.copyfile`) and a durable copy
(the same, then fsync of the file and its directory), which is what the store does and
promises. Page cache cannot be dropped without root, so every file is read from cache.

Every run does every phase in turn, so load from elsewhere on the machine weighs on all alike;
the median (or --stat best) of each phase is shown. It also prints what one core hashes in
memory (the ceiling of any transfer that checksums) and the server's RSS growth during the
upload: VmRSS sampled every 2 ms from /proc/<pid>/status, and VmHWM after resetting it. The
server process is found by its listening socket (or --pid). Client and server share this
machine's cores; the client sends with sendfile(2), so it costs the server as little CPU as a
client can.
"""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import hashlib
import ipaddress
import os
import shutil
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

MB = 1_000_000
BUFFER = 1 << 20  # larger writes cost far more system time here (see the store)
DEPTH = 4  # buffers in flight between receiving, hashing and writing

PLAIN = "copy, page cache"
DURABLE = "copy + fsync (durable)"
UPLOAD = "upload (md5+sha512, fsync)"
DOWNLOAD_SYNC = "download, md5 check + fsync"
DOWNLOAD = "download, md5 check"
DOWNLOAD_RAW = "download, no check"
HASHES = ("md5", "sha512")


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    project_name: str
    user_domain: str
    project_domain: str
    auth_url: str


def load_credentials(path: Path, cloud: str) -> Credentials:
    auth = yaml.safe_load(path.read_text())["clouds"][cloud]["auth"]
    return Credentials(username=auth["username"], password=auth["password"],
                       project_name=auth["project_name"],
                       user_domain=auth.get("user_domain_name", "Default"),
                       project_domain=auth.get("project_domain_name", "Default"),
                       auth_url=auth["auth_url"])


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"refusing to benchmark {url}: loopback addresses only")


def issue_token(base: str, creds: Credentials) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": creds.username, "domain": {"name": creds.user_domain},
        "password": creds.password}}},
        "scope": {"project": {"name": creds.project_name,
                              "domain": {"name": creds.project_domain}}}}}
    resp = httpx.post(f"{base}/identity/v3/auth/tokens?nocatalog", json=body, timeout=60)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


# --- the server process and its memory ------------------------------------------------------

def listening_pid(port: int) -> int | None:
    """The pid owning the TCP socket listening on `port` (loopback or any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def memory_kb(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


class RssSampler:
    """Samples VmRSS of `pid` in a thread; `peak` is the highest value seen."""

    def __init__(self, pid: int, interval: float = 0.002) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory_kb(self.pid)["VmRSS"])
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, memory_kb(self.pid)["VmRSS"])


def cpu_seconds(pid: int) -> float:
    """User and system time of the process `pid`, threads that ended included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_hwm(pid: int) -> bool:
    """Reset the peak RSS the kernel keeps (clear_refs 5); False if not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- raw HTTP over one socket ---------------------------------------------------------------

def _connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    return int(status_line.split()[1]), headers, rest


def put_file(base: str, path: str, token: str, source: Path) -> float:
    """PUT the file with sendfile(2); seconds until the response head arrived."""
    size = source.stat().st_size
    host = urlsplit(base).netloc
    head = (f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
            "Connection: close\r\n\r\n").encode()
    with _connect(base) as sock, source.open("rb") as fh:
        started = time.perf_counter()
        sock.sendall(head)
        sock.sendfile(fh)
        status, _, _ = _read_head(sock)
        elapsed = time.perf_counter() - started
    if status != 204:
        sys.exit(f"upload failed: HTTP {status}")
    return elapsed


def _write_at(fd: int, data: memoryview, offset: int, start_writeback: bool) -> None:
    """Write `data` at `offset`; with `start_writeback`, get the kernel writing it to disk now
    (DONTNEED starts writeback of dirty pages without waiting or dropping them), so that a
    closing fsync waits for the last buffer only, not for the whole file."""
    while data:
        written = os.pwrite(fd, data, offset)
        if start_writeback:
            os.posix_fadvise(fd, offset, written, os.POSIX_FADV_DONTNEED)
        data, offset = data[written:], offset + written


def get_file(base: str, path: str, token: str, target: Path, *, check: bool = True,
             sync: bool = False) -> float:
    """GET into `target`; seconds until the last byte is written (and checked, and fsynced).

    `check` verifies Content-MD5 as the bytes arrive (openstacksdk checks md5 too); `sync` then
    fsyncs the file, as nova does with the images its compute hosts fetch. As a careful client
    can, it overlaps the three jobs: this thread fills BUFFER-sized buffers straight from the
    socket (recv_into, no copy), one thread hashes each full buffer and another writes it, so
    the transfer takes as long as the slowest of receiving, md5 and writing, not their sum."""
    host = urlsplit(base).netloc
    head = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n"
            "Connection: close\r\n\r\n").encode()
    md5 = hashlib.md5(usedforsecurity=False)
    hasher, writer = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    # A buffer is filled again only once both threads are done with it.
    buffers = [memoryview(bytearray(BUFFER)) for _ in range(DEPTH)]
    users: list[list[Future[None]]] = [[] for _ in buffers]
    with _connect(base) as sock, target.open("wb", buffering=0) as out:
        started = time.perf_counter()
        sock.sendall(head)
        status, headers, first = _read_head(sock)
        if status != 200:
            sys.exit(f"download failed: HTTP {status}")
        remaining = int(headers["content-length"])
        offset = 0
        while remaining > 0:
            slot = (offset // BUFFER) % DEPTH
            for done in users[slot]:
                done.result()
            buffer = buffers[slot][:min(BUFFER, remaining)]
            filled = len(first)
            buffer[:filled], first = first, b""
            while filled < len(buffer):
                received = sock.recv_into(buffer[filled:])
                if not received:
                    raise ConnectionError("the server closed the connection early")
                filled += received
            users[slot] = [writer.submit(_write_at, out.fileno(), buffer, offset, sync)]
            if check:
                users[slot].append(hasher.submit(md5.update, buffer))
            offset += filled
            remaining -= filled
        for slot_users in users:
            for done in slot_users:
                done.result()
        if sync:
            os.fsync(out.fileno())
        elapsed = time.perf_counter() - started
    hasher.shutdown()
    writer.shutdown()
    if check and md5.hexdigest() != headers.get("content-md5"):
        sys.exit("download failed: Content-MD5 does not match the bytes")
    return elapsed


# --- the baselines --------------------------------------------------------------------------

def plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(source, target)
    return time.perf_counter() - started


def durable_copy(source: Path, target: Path) -> float:
    """A copy that survives a crash once it returns: what the store does before `active`."""
    started = time.perf_counter()
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return time.perf_counter() - started


def hash_in_memory(algorithm: str, block: bytes, size: int) -> float:
    """Seconds one core takes to hash `size` bytes already in memory."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    started = time.perf_counter()
    for _ in range(size // len(block)):
        digest.update(block)
    return time.perf_counter() - started


@dataclasses.dataclass
class Figures:
    rows: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    # CPU seconds that this process and the server spent on each phase, which other work on
    # the machine does not inflate as it does the elapsed time.
    cpu: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    rss_before_kb: int = 0
    rss_peak_kb: int = 0
    hwm_growth_kb: int | None = None

    def add(self, name: str, seconds: float) -> None:
        self.rows.setdefault(name, []).append(seconds)

    def measure(self, name: str, pid: int, phase: Callable[..., float], *args: Any,
                **kwargs: Any) -> None:
        """Runs `phase(*args, **kwargs)`, which returns its elapsed seconds, and records its
        CPU time too."""
        before = time.process_time() + cpu_seconds(pid)
        self.add(name, phase(*args, **kwargs))
        self.cpu.setdefault(name, []).append(time.process_time() + cpu_seconds(pid) - before)


def bench(args: argparse.Namespace) -> tuple[Figures, int, int]:
    creds = load_credentials(args.cloud_config, args.cloud)
    base = (args.url or creds.auth_url.rstrip("/").removesuffix("/identity")).rstrip("/")
    require_loopback(base)
    pid = args.pid or listening_pid(urlsplit(base).port or 80)
    if pid is None:
        sys.exit(f"cannot find the server process listening at {base}; pass --pid")
    token = issue_token(base, creds)
    work = args.dir
    work.mkdir(parents=True, exist_ok=True)
    source, copy, download = work / "source.bin", work / "copy.bin", work / "download.bin"
    size = args.size_mb * MB
    with source.open("wb") as fh:
        for _ in range(args.size_mb):
            fh.write(os.urandom(MB))
    block = os.urandom(MB)
    figures = Figures()
    client = httpx.Client(base_url=f"{base}/image", headers={"X-Auth-Token": token}, timeout=60)
    created: list[str] = []
    try:
        # Each run does every phase, so that load from elsewhere on the machine weighs on
        # the baselines and the transfers alike.
        for run in range(args.runs):
            figures.measure(PLAIN, pid, plain_copy, source, copy)
            copy.unlink()
            figures.measure(DURABLE, pid, durable_copy, source, copy)
            copy.unlink()
            for algorithm in HASHES:
                figures.add(algorithm, hash_in_memory(algorithm, block, size))
            image = client.post("/v2/images", json={
                "name": f"bench-{run}", "disk_format": "raw", "container_format": "bare"})
            image.raise_for_status()
            image_id = image.json()["id"]
            created.append(image_id)
            path = urlsplit(base).path + f"/image/v2/images/{image_id}/file"
            before = memory_kb(pid)["VmRSS"]
            hwm_reset = reset_hwm(pid)
            with RssSampler(pid) as sampler:
                figures.measure(UPLOAD, pid, put_file, base, path, token, source)
            if run == 0 or sampler.peak - before > figures.rss_peak_kb - figures.rss_before_kb:
                figures.rss_before_kb, figures.rss_peak_kb = before, sampler.peak
                if hwm_reset:
                    figures.hwm_growth_kb = memory_kb(pid)["VmHWM"] - before
            figures.measure(DOWNLOAD_SYNC, pid, get_file, base, path, token, download, sync=True)
            download.unlink()
            figures.measure(DOWNLOAD, pid, get_file, base, path, token, download)
            download.unlink()
            figures.measure(DOWNLOAD_RAW, pid, get_file, base, path, token, download,
                            check=False)
            if not filecmp.cmp(download, source, shallow=False):
                sys.exit("download failed: the bytes differ from the upload")
            download.unlink()
    finally:
        for image_id in created:
            client.delete(f"/v2/images/{image_id}")
        client.close()
        for path in (source, copy, download):
            path.unlink(missing_ok=True)
    return figures, size, pid


def print_table(figures: Figures, size: int, pid: int, args: argparse.Namespace) -> None:
    print(f"image data at {args.url or args.cloud_config}: {size / MB:.0f} MB, {args.stat} of "
          f"{args.runs} runs, files in {args.dir}, {os.cpu_count()} CPUs shared by client "
          f"and server (pid {pid})")
    pick = min if args.stat == "best" else statistics.median
    chosen = {name: pick(values) for name, values in figures.rows.items()}
    cpu = {name: statistics.median(values) for name, values in figures.cpu.items()}
    header = (f"{'phase':<30}{'seconds':>9}{'MB/s':>8}{'vs page-cache copy':>20}"
              f"{'vs durable copy':>17}{'CPU s':>8}")
    print(header)
    print("-" * len(header))
    for name, seconds in chosen.items():
        if name in HASHES:
            continue
        print(f"{name:<30}{seconds:>9.3f}{size / MB / seconds:>8.0f}"
              f"{chosen[PLAIN] / seconds:>20.0%}{chosen[DURABLE] / seconds:>17.0%}"
              f"{cpu[name]:>8.2f}")
    rates = ", ".join(f"{name} {size / MB / chosen[name]:.0f} MB/s" for name in HASHES)
    print(f"one core hashing in memory: {rates}; CPU s: median CPU time of the bench and the "
          "server (client and server, for a transfer)")
    growth = (figures.rss_peak_kb - figures.rss_before_kb) / 1024
    print(f"server RSS during the upload: {figures.rss_before_kb / 1024:.1f} MiB before, "
          f"peak {figures.rss_peak_kb / 1024:.1f} MiB (+{growth:.1f} MiB, sampled every 2 ms)"
          + (f"; VmHWM +{figures.hwm_growth_kb / 1024:.1f} MiB" if figures.hwm_growth_kb
             is not None else ""))


def main() -> None:
    state = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the cloud's base URL (default: clouds.yaml's auth_url)")
    parser.add_argument("--cloud-config", type=Path, default=state / "clouds.yaml")
    parser.add_argument("--cloud", default="nimbus")
    parser.add_argument("--size-mb", type=int, default=256, help="image size in MB (10^6 bytes)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stat", choices=("median", "best"), default="median",
                        help="which run to report per phase (best: the least disturbed by "
                             "other work on the machine)")
    parser.add_argument("--pid", type=int, help="the server process (default: found by port)")
    parser.add_argument("--dir", type=Path, default=state / "bench-image",
                        help="where the source file and the plain copies go (default: in the "
                             "state directory, on the same disk as the image store)")
    args = parser.parse_args()
    if not args.cloud_config.exists():
        parser.error(f"{args.cloud_config} not found: start the cloud with `make up`, "
                     "or pass --cloud-config <state>/clouds.yaml")
    try:
        figures, size, pid = bench(args)
    except (OSError, httpx.HTTPError) as exc:
        sys.exit(f"cannot reach the cloud ({exc}); is `make up` running?")
    print_table(figures, size, pid, args)


if __name__ == "__main__":
    main()
