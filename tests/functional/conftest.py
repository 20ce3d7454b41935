"""The cloud in-process for functional tests: every API on one ASGI app, driven with httpx.

`cloud` runs on each backend of NIMBUS_TEST_BACKENDS (sqlite, postgresql, mariadb).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus.cmd import apps
from nimbus.core.config import DatabaseSettings, IdentitySettings, Settings
from nimbus.identity.deps import IdentityDeps
from tests.dbs import backends, scratch_database

BASE_URL = "http://nimbus.test"
ADMIN_PASSWORD = "admin-secret-pw"


@dataclasses.dataclass
class Cloud:
    client: httpx.AsyncClient
    identity: IdentityDeps
    backend: str
    services: apps.Services

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


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend = request.param
    async with scratch_database(backend, tmp_path) as url:
        settings = Settings(state_dir=tmp_path / "state", public_url=BASE_URL,
                            database=DatabaseSettings(connection=url),
                            identity=IdentitySettings(bcrypt_rounds=4))
        settings.state_dir.mkdir()
        database = apps.open_database(settings)
        await apps.migrate_all(database)
        built = apps.services(settings, database)
        await apps.bootstrap_all(built, admin_password=ADMIN_PASSWORD, service_password="service-pw")
        app = apps.all_in_one_app(built)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE_URL) as client:
            yield Cloud(client=client, identity=built.identity, backend=backend,
                        services=built)
        await database.aclose()
