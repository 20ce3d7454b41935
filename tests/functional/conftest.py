"""The cloud in-process for functional tests: every API on one ASGI app, driven with httpx.

`cloud` runs on each backend of NIMBUS_TEST_BACKENDS (sqlite, postgresql, mariadb).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from nimbus.cmd import apps, runtime, volume_runtime
from nimbus.core.config import ComputeSettings, DatabaseSettings, IdentitySettings, Settings
from nimbus.core.rpc import AmqpTransport, MemoryTransport, Transport
from nimbus.identity.deps import IdentityDeps
from tests.dbs import backends, migrated_database

BASE_URL = "http://nimbus.test"
ADMIN_PASSWORD = "admin-secret-pw"
SERVICE_PASSWORD = "service-pw"
RABBITMQ_URL = os.environ.get("NIMBUS_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")


def buses() -> list[str]:
    """RPC transports for compute's functional tests: memory always, RabbitMQ unless skipped."""
    return ["memory"] if os.environ.get("NIMBUS_TEST_SKIP_RABBITMQ") else ["memory", "amqp"]


def cloud_variants() -> list[object]:
    """(database, bus) for a cloud fixture: every database on the memory bus, and SQLite on
    RabbitMQ."""
    found: list[object] = [pytest.param((b, "memory"), id=b) for b in backends()]
    if "amqp" in buses():
        found.append(pytest.param(("sqlite", "amqp"), id="sqlite-rabbitmq",
                                  marks=pytest.mark.rabbitmq))
    return found


@dataclasses.dataclass
class Cloud:
    client: httpx.AsyncClient
    identity: IdentityDeps
    backend: str
    services: apps.Services
    transport: Transport
    compute: runtime.ComputeRuntime | None = None
    volume: volume_runtime.VolumeRuntime | None = None

    async def token(self, username: str = "admin", password: str = ADMIN_PASSWORD,
                    project: str | None = "admin", **scope: Any) -> str:
        """Issue a token with the password method; project-scoped unless told otherwise."""
        body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": username, "domain": {"id": "default"}, "password": password}}}}}
        if project is not None:
            body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        elif scope:
            body["auth"]["scope"] = scope
        resp = await self.client.post("/identity/v3/auth/tokens", json=body)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    async def admin_headers(self) -> dict[str, str]:
        return {"X-Auth-Token": await self.token()}


class LateApp:
    """The all-in-one app, set once built: the services' own HTTP client must exist first."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def running_cloud(backend: str, tmp_path: Path, *, fake_hosts: int = 0,
                        volume_hosts: int = 0, bus: str = "memory",
                        compute_settings: ComputeSettings | None = None,
                        wrap_transport: Callable[[Transport], Transport] | None = None,
                        ) -> AsyncIterator[Cloud]:
    """The whole cloud in-process; with fake_hosts, also conductor, scheduler and agents; with
    volume_hosts, the volume scheduler and that many file-backend volume hosts.

    bus "amqp" puts compute's RPC on the local RabbitMQ, under a name prefix of its own;
    `wrap_transport` puts a test double (one that loses messages, say) in front of the bus.
    """
    async with migrated_database(backend, tmp_path) as url:
        settings = Settings(state_dir=tmp_path / "state", public_url=BASE_URL,
                            database=DatabaseSettings(connection=url),
                            identity=IdentitySettings(bcrypt_rounds=4), fake_hosts=fake_hosts,
                            compute=compute_settings or ComputeSettings())
        settings.state_dir.mkdir()
        database = apps.open_database(settings)
        await apps.bootstrap_all(settings, database, admin_password=ADMIN_PASSWORD,
                                 service_password=SERVICE_PASSWORD)
        transport: Transport = MemoryTransport() if bus == "memory" else AmqpTransport(
            RABBITMQ_URL, prefix=f"nimbus-test-{uuid.uuid4().hex[:12]}", queue_expiry=120,
            reply_expiry=60)
        if wrap_transport is not None:
            transport = wrap_transport(transport)
        late = LateApp()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=late),
                                     base_url=BASE_URL) as client:
            built = apps.services(settings, database, transport, client)
            late.app = apps.all_in_one_app(built)
            compute = None
            if fake_hosts:
                compute = runtime.all_in_one(settings, database.factory, transport,
                                             runtime.rest_clients(settings, client, SERVICE_PASSWORD))
                await compute.start()
            volume = None
            if volume_hosts:
                volume = volume_runtime.all_in_one(
                    settings, database.factory, transport,
                    runtime.rest_clients(settings, client, SERVICE_PASSWORD),
                    hosts=[f"volume-{i}" for i in range(1, volume_hosts + 1)])
                await volume.start()
            try:
                yield Cloud(client=client, identity=built.identity, backend=backend,
                            services=built, transport=transport, compute=compute,
                            volume=volume)
            finally:
                if volume is not None:
                    await volume.stop()
                if compute is not None:
                    await compute.stop()
                await transport.aclose()
        await database.aclose()


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path) as running:
        yield running
