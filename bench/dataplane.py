"""The network agent against a running all-in-one with a dataplane, over loopback (root).

    NIMBUS_NETWORK__DATAPLANE=true make up          # or a cloud with a QEMU host
    .venv/bin/python bench/dataplane.py                 # 40 ports on one network
    .venv/bin/python bench/dataplane.py --ports 200 --idle 20

Phases: ports made one at a time on a fresh network, each timed from its POST until the
network's dnsmasq hosts file (<state>/dhcp/<network>/host) lists its MAC: the first includes the
DHCP port and dnsmasq's start; the others show the agent's poll interval plus one sync. Then
the server process's CPU while idle with those ports (the agent's polling), from
/proc/<pid>/stat. A cloud without a dataplane (no host namespace) is skipped. Everything it
made is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from nimbus.dataplane import ip, names

N = "/network/v2.0"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def login(http: httpx.AsyncClient, base: str, a: dict[str, Any]) -> dict[str, str]:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": a["username"], "password": a["password"],
        "domain": {"name": a.get("user_domain_name", "Default")}}}},
        "scope": {"project": {"name": a["project_name"],
                              "domain": {"name": a.get("project_domain_name", "Default")}}}}}
    resp = await http.post(f"{base}/identity/v3/auth/tokens", json=body)
    resp.raise_for_status()
    return {"X-Auth-Token": resp.headers["X-Subject-Token"]}


def served(hosts: Path, mac: str) -> bool:
    """A small local file read: cheaper than a thread hop each 20 ms."""
    return hosts.exists() and mac in hosts.read_text()


async def until_served(hosts: Path, mac: str, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if served(hosts, mac):
            return time.perf_counter() - start
        await asyncio.sleep(0.02)
    raise SystemExit(f"{mac} not in {hosts} after {timeout:.0f} s: is the network agent running?")


async def main(args: argparse.Namespace, state: Path, config: dict[str, Any]) -> None:
    base = config["auth"]["auth_url"].rsplit("/identity", 1)[0]
    if not base.startswith(("http://127.", "http://localhost")):
        sys.exit("bench/dataplane.py talks to loopback clouds only")
    if not ip.netns_exists(names.host_namespace(state)):
        print(f"dataplane: skipped, the cloud at {base} runs no network agent")
        return
    pid = int((state / "nimbus.pid").read_text())
    async with httpx.AsyncClient(timeout=60) as http:
        headers = await login(http, base, config["auth"])
        net = (await http.post(f"{base}{N}/networks", headers=headers, json={
            "network": {"name": "bench-dataplane"}})).json()["network"]["id"]
        try:
            (await http.post(f"{base}{N}/subnets", headers=headers, json={"subnet": {
                "network_id": net, "ip_version": 4, "cidr": "10.250.0.0/22"}})).raise_for_status()
            hosts = state / "dhcp" / net / "host"
            latencies = []
            for _ in range(args.ports):
                start = time.perf_counter()
                resp = await http.post(f"{base}{N}/ports", headers=headers, json={"port": {
                    "network_id": net, "device_owner": "compute:nova"}})
                resp.raise_for_status()
                await until_served(hosts, resp.json()["port"]["mac_address"], args.timeout)
                latencies.append(time.perf_counter() - start)
            before, t0 = cpu_seconds(pid), time.perf_counter()
            await asyncio.sleep(args.idle)
            idle = (cpu_seconds(pid) - before) / (time.perf_counter() - t0)
        finally:
            ports = (await http.get(f"{base}{N}/ports", headers=headers,
                                    params={"network_id": net})).json()["ports"]
            for port in ports:
                if port["device_owner"] != "network:dhcp":
                    await http.delete(f"{base}{N}/ports/{port['id']}", headers=headers)
            await http.delete(f"{base}{N}/networks/{net}", headers=headers)
    rest = sorted(latencies[1:]) or [float("nan")]
    print(f"dataplane at {base}, {os.cpu_count()} CPUs shared by client and server")
    print(f"  {'first port to DHCP-ready (dnsmasq start)':<44} {latencies[0] * 1000:.0f} ms")
    print(f"  {f'next {len(rest)} ports to DHCP-ready':<44} p50 {statistics.median(rest) * 1000:.0f} ms"
          f"  p95 {rest[int(0.95 * (len(rest) - 1))] * 1000:.0f} ms  max {rest[-1] * 1000:.0f} ms")
    print(f"  {f'server CPU idle with {args.ports} ports':<44} {idle * 100:.1f} % of a core")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=40)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured")
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    state_dir = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus"))
    asyncio.run(main(arguments, state_dir,
                     yaml.safe_load((state_dir / "clouds.yaml").read_text())["clouds"]["nimbus"]))
