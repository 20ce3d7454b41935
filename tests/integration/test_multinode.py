"""Multi-node: one service per process on PostgreSQL and RabbitMQ, as across machines.

`nimbus serve api`, `serve conductor`, `serve scheduler` and two `serve compute --host` run as
separate processes sharing only the database URL, the bus URL and the public URL; the real CLI
boots servers through them and each lands on one of the two compute hosts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dbs import POSTGRES_ADMIN

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
NIMBUS = ROOT / ".venv" / "bin" / "nimbus"
OPENSTACK = ROOT / ".venv" / "bin" / "openstack"
RABBITMQ_URL = os.environ.get("NIMBUS_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
HOSTS = ("node-a", "node-b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def psql(sql: str) -> None:
    base = POSTGRES_ADMIN.replace("postgresql+asyncpg://", "postgresql://")
    subprocess.run(["psql", f"{base}/postgres", "-qc", sql], check=True, capture_output=True)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    name = f"nimbus_mn_{uuid.uuid4().hex[:8]}"
    psql(f"CREATE DATABASE {name}")
    port = free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "NIMBUS_"))}
    shared = {**base_env, "PYTHONUNBUFFERED": "1",
              "NIMBUS_DATABASE__CONNECTION": f"{POSTGRES_ADMIN}/{name}",
              "NIMBUS_TRANSPORT_URL": f"{RABBITMQ_URL}?prefix={name}",
              "NIMBUS_PUBLIC_URL": f"http://127.0.0.1:{port}", "NIMBUS_PORT": str(port),
              "NIMBUS_IDENTITY__BCRYPT_ROUNDS": "4", "NIMBUS_COMPUTE__HEARTBEAT_INTERVAL": "2"}
    api_state = tmp_path / "api"
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, state: Path, extra: dict[str, str] | None = None) -> None:
        env = {**shared, "NIMBUS_STATE_DIR": str(state), **(extra or {})}
        log = (tmp_path / f"{'-'.join(args)}.out").open("wb")
        processes.append(subprocess.Popen([str(NIMBUS), *args], env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))

    try:
        subprocess.run([str(NIMBUS), "bootstrap"], env={**shared, "NIMBUS_STATE_DIR": str(api_state)},
                       check=True, capture_output=True, timeout=120)
        service_password = json.loads((api_state / "secrets.json").read_text())["service_password"]
        start("serve", "api", state=api_state)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/compute/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.3)
        secret = {"NIMBUS_IDENTITY__SERVICE_PASSWORD": service_password}
        start("serve", "conductor", "--host", "ctl", state=tmp_path / "conductor", extra=secret)
        start("serve", "scheduler", "--host", "ctl", state=tmp_path / "scheduler", extra=secret)
        for host in HOSTS:
            start("serve", "compute", "--host", host, state=tmp_path / host, extra=secret)
        yield {"clouds": api_state / "clouds.yaml", "logs": tmp_path}
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def cli(clouds: object, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return subprocess.run([str(OPENSTACK), *args], env={**env, "OS_CLIENT_CONFIG_FILE": str(clouds),
                                                        "OS_CLOUD": "nimbus"},
                          capture_output=True, text=True, timeout=120)


def test_servers_boot_across_separate_processes(cluster: dict[str, object],
                                                tmp_path: Path) -> None:
    clouds = cluster["clouds"]
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\x00multinode\x00" * 1024)
    # Both compute hosts must have registered with placement before we boot.
    deadline = time.monotonic() + 60
    while True:
        listed = cli(clouds, "resource", "provider", "list", "-f", "json")
        names = sorted(p["name"] for p in json.loads(listed.stdout or "[]")) if listed.returncode == 0 else []
        if names == sorted(HOSTS):
            break
        assert time.monotonic() < deadline, f"providers: {names} {listed.stderr}"
        time.sleep(0.5)
    image = cli(clouds, "image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(disk), "--public", "mn-image", "-f", "value", "-c", "id")
    assert image.returncode == 0, image.stderr

    hosts = set()
    for index in range(4):
        created = cli(clouds, "server", "create", "--flavor", "m1.tiny", "--image", "mn-image",
                      "--nic", "none", "--wait", f"mn-{index}", "-f", "json")
        assert created.returncode == 0, created.stderr + created.stdout
        server = json.loads(created.stdout)
        assert server["status"] == "ACTIVE"
        hosts.add(server["OS-EXT-SRV-ATTR:host"])
    assert hosts == set(HOSTS), hosts  # the RAM weigher spreads them

    for index in range(4):
        deleted = cli(clouds, "server", "delete", "--wait", f"mn-{index}")
        assert deleted.returncode == 0, deleted.stderr
    assert json.loads(cli(clouds, "server", "list", "-f", "json").stdout) == []
