"""`nimbus host drain HOST`: empty a compute host for maintenance, through the compute API
as the admin, as an operator would with the openstack CLI.

The host's compute service is disabled first, so the scheduler sends nothing new there;
then each server on it moves: running and paused ones by live migration, stopped ones by
cold migration (confirmed at once). The command waits for each and says where it went.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console

from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.core.config import Settings

MICROVERSION = {"OpenStack-API-Version": "compute 2.79"}
_RESTING = {"ACTIVE", "SHUTOFF", "PAUSED", "ERROR"}


@dataclass
class Compute:
    http: httpx.AsyncClient
    url: str
    headers: dict[str, str]

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        resp = await self.http.request(method, f"{self.url}{path}",
                                       headers={**self.headers, **MICROVERSION}, **kwargs)
        if resp.status_code >= 400:
            raise SystemExit(f"{method} {path} answered {resp.status_code}: {resp.text[:300]}")
        return resp


def _admin_password(settings: Settings) -> str:
    path = settings.state_dir / "secrets.json"
    if not path.exists():
        raise SystemExit(f"no {path}: run this where `nimbus up` or `nimbus bootstrap` ran")
    return str(json.loads(path.read_text())["admin_password"])


async def _login(http: httpx.AsyncClient, settings: Settings) -> Compute:
    resp = await http.post(f"{settings.identity_base_url}/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": _admin_password(settings)}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    if resp.status_code != 201:
        raise SystemExit(f"identity refused the admin: {resp.status_code} {resp.text[:200]}")
    catalog = resp.json()["token"]["catalog"]
    url = next(e["url"] for s in catalog if s["type"] == "compute" for e in s["endpoints"]
               if e["interface"] == "public")
    return Compute(http, url.rstrip("/"), {"X-Auth-Token": resp.headers["X-Subject-Token"]})


async def _servers_on(compute: Compute, host: str) -> list[dict[str, Any]]:
    resp = await compute.request("GET", "/servers/detail",
                                 params={"all_tenants": "1", "host": host})
    found: list[dict[str, Any]] = resp.json()["servers"]
    return found


async def _server(compute: Compute, server_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await compute.request("GET", f"/servers/{server_id}")).json()["server"]
    return found


async def _wait(compute: Compute, server_id: str, statuses: set[str],
                timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = await _server(compute, server_id)
        if server["status"] in statuses:
            return server
        if time.monotonic() > deadline:
            return server
        await asyncio.sleep(0.5)


async def _move(compute: Compute, server: dict[str, Any], host: str,
                timeout: float) -> dict[str, Any]:
    """Move one server off `host`; its view afterwards."""
    action = f"/servers/{server['id']}/action"
    if server["status"] == "SHUTOFF":
        await compute.request("POST", action, json={"migrate": None})
        moved = await _wait(compute, server["id"], {"VERIFY_RESIZE", "ERROR", "SHUTOFF"}, timeout)
        if moved["status"] == "VERIFY_RESIZE":
            await compute.request("POST", action, json={"confirmResize": None})
            moved = await _wait(compute, server["id"], {"SHUTOFF", "ERROR"}, timeout)
        return moved
    await compute.request("POST", action, json={"os-migrateLive": {
        "host": None, "block_migration": "auto"}})
    # The task state shows MIGRATING at once; the server rests again when the move ends.
    return await _wait(compute, server["id"], _RESTING, timeout)


async def drain(settings: Settings, console: Console, host: str, *, timeout: float) -> int:
    """The number of servers still on the host afterwards."""
    async with httpx.AsyncClient(timeout=60.0) as http:
        compute = await _login(http, settings)
        services = (await compute.request("GET", "/os-services", params={
            "host": host, "binary": COMPUTE_BINARY})).json()["services"]
        if not services:
            raise SystemExit(f"no compute service on host {host}")
        await compute.request("PUT", f"/os-services/{services[0]['id']}", json={
            "status": "disabled", "disabled_reason": "draining"})
        console.print(f"compute service on {host} disabled: no new servers go there")
        left = 0
        for server in await _servers_on(compute, host):
            if server["status"] not in ("ACTIVE", "PAUSED", "SHUTOFF"):
                console.print(f"[yellow]{server['name']} ({server['id']}) is "
                              f"{server['status']}: left where it is[/]")
                left += 1
                continue
            moved = await _move(compute, server, host, timeout)
            where = moved.get("OS-EXT-SRV-ATTR:host")
            if where == host or moved["status"] == "ERROR":
                console.print(f"[red]{server['name']} ({server['id']}) did not move: "
                              f"{moved['status']} on {where}[/]")
                left += 1
            else:
                console.print(f"[green]✓[/] {server['name']} ({server['id']}) -> {where}")
        return left
