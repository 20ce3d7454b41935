"""Identity throughput and latency against a running all-in-one (`make up`), over loopback.

    .venv/bin/python bench/identity.py                      # .nimbus/clouds.yaml, its auth_url
    .venv/bin/python bench/identity.py --url http://127.0.0.1:8080 \\
        --cloud-config .nimbus/clouds.yaml --concurrency 16 --duration 5 --phases validate

Four phases, each bounded by --duration seconds and --max-requests: token issue with the
password method (bound by bcrypt's cost, as in Keystone), token issue with the token method, and
validation (`GET /identity/v3/auth/tokens` with X-Subject-Token), with and without `?nocatalog`,
cycling over a pool of distinct tokens. Prints requests/s and p50/p99 latency as the client saw
them; client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import ipaddress
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import yaml

TOKENS = "/identity/v3/auth/tokens"
PHASES = ("password", "token", "validate", "nocatalog")
Reply = tuple[int, dict[str, str]]
Request = Callable[[int], Awaitable[bool]]


class Client(Protocol):
    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: dict[str, Any] | None = None) -> Reply: ...

    async def aclose(self) -> None: ...


class LoopbackClient:
    """HTTP/1.1 keep-alive over asyncio streams; each connection carries one request at a time.

    The default load generator: httpx spends about 1 ms of CPU per request, more than the server
    spends validating a token, so on a 2-core machine it would measure itself (`--client httpx`
    shows it). It speaks just enough HTTP for this server: Content-Length or chunked bodies.
    """

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: dict[str, Any] | None = None) -> Reply:
        conn = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
        if body is not None:
            head.append("Content-Type: application/json")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        reply = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
        if "content-length" in reply:
            await reader.readexactly(int(reply["content-length"]))
        elif reply.get("transfer-encoding") == "chunked":
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")
        if reply.get("connection") == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return int(status_line.split()[1]), reply

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()


class HttpxClient:
    def __init__(self, base: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0)

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: dict[str, Any] | None = None) -> Reply:
        resp = await self.client.request(method, path, headers=headers, json=body)
        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclasses.dataclass
class Result:
    name: str
    latencies: list[float]
    errors: int
    elapsed: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


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


def scope(creds: Credentials) -> dict[str, Any]:
    return {"project": {"name": creds.project_name, "domain": {"name": creds.project_domain}}}


def password_body(creds: Credentials) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": creds.username, "domain": {"name": creds.user_domain}, "password": creds.password}}},
        "scope": scope(creds)}}


def token_body(creds: Credentials, token: str) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}, "scope": scope(creds)}}


async def issue(client: Client, body: dict[str, Any], query: str = "") -> str:
    status, headers = await client.request("POST", f"{TOKENS}{query}", {}, body)
    if status != 201:
        sys.exit(f"token issue failed: HTTP {status}")
    return headers["x-subject-token"]


async def run_phase(name: str, request: Request, *, concurrency: int, duration: float,
                    max_requests: int) -> Result:
    """`concurrency` workers send requests until `duration` passes or `max_requests` are sent."""
    latencies: list[float] = []
    errors = sent = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors, sent
        while time.perf_counter() < deadline and sent < max_requests:
            n, sent = sent, sent + 1
            start = time.perf_counter()
            if await request(n):
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, latencies, errors, time.perf_counter() - started)


async def bench(args: argparse.Namespace) -> list[Result]:
    creds = load_credentials(args.cloud_config, args.cloud)
    base = (args.url or creds.auth_url.rstrip("/").removesuffix("/identity")).rstrip("/")
    require_loopback(base)
    client: Client = LoopbackClient(base) if args.client == "loopback" else \
        HttpxClient(base, args.concurrency)
    try:
        admin_token = await issue(client, password_body(creds))
        pool: list[str] = []

        async def issue_password(_: int) -> bool:
            return (await client.request("POST", TOKENS, {}, password_body(creds)))[0] == 201

        async def issue_token(_: int) -> bool:
            return (await client.request("POST", TOKENS, {}, token_body(creds, admin_token)))[0] == 201

        def validator(query: str) -> Request:
            async def validate(n: int) -> bool:
                headers = {"X-Auth-Token": admin_token, "X-Subject-Token": pool[n % len(pool)]}
                return (await client.request("GET", f"{TOKENS}{query}", headers))[0] == 200
            return validate

        phases: dict[str, tuple[str, Request]] = {
            "password": ("issue (password)", issue_password),
            "token": ("issue (token)", issue_token),
            "validate": ("validate", validator("")),
            "nocatalog": ("validate ?nocatalog", validator("?nocatalog")),
        }
        bounds = {"concurrency": args.concurrency, "duration": args.duration,
                  "max_requests": args.max_requests}
        results = []
        for key in args.phases:
            name, request = phases[key]
            if key in ("validate", "nocatalog") and not pool:
                pool.extend([await issue(client, token_body(creds, admin_token), "?nocatalog")
                             for _ in range(args.pool)])
                # Warm up connections and any per-token caches before the validation figures.
                await run_phase("warm-up", validator(""), concurrency=args.concurrency,
                                duration=1.0, max_requests=len(pool) * 2)
            results.append(await run_phase(name, request, **bounds))
        return results
    finally:
        await client.aclose()


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    print(f"identity at {args.url or args.cloud_config}: {args.client} client, "
          f"concurrency {args.concurrency}, up to {args.duration:g} s per phase, "
          f"{os.cpu_count()} CPUs shared by client and server")
    header = f"{'phase':<22}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:<22}{len(r.latencies):>10}{r.errors:>8}{r.rate:>10.1f}"
              f"{r.percentile(50):>9.2f}{r.percentile(99):>9.2f}")


def main() -> None:
    state = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the cloud's base URL (default: clouds.yaml's auth_url)")
    parser.add_argument("--cloud-config", type=Path, default=state / "clouds.yaml")
    parser.add_argument("--cloud", default="nimbus")
    parser.add_argument("--client", choices=("loopback", "httpx"), default="loopback",
                        help="load generator (default: a minimal keep-alive client, see LoopbackClient)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase at most")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per phase at most")
    parser.add_argument("--pool", type=int, default=200, help="distinct tokens to validate")
    parser.add_argument("--phases", type=lambda s: s.split(","), default=list(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)}")
    args = parser.parse_args()
    if unknown := set(args.phases) - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if not args.cloud_config.exists():
        parser.error(f"{args.cloud_config} not found: start the cloud with `make up`, "
                     "or pass --cloud-config <state>/clouds.yaml")
    try:
        import uvloop
    except ImportError:
        run: Callable[[Any], list[Result]] = asyncio.run
    else:
        run = uvloop.run
    try:
        results = run(bench(args))
    except (OSError, httpx.HTTPError) as exc:
        sys.exit(f"cannot reach the cloud ({exc}); is `make up` running?")
    print_table(results, args)


if __name__ == "__main__":
    main()
