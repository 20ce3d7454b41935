"""A service in another process validates tokens against identity over REST."""

from __future__ import annotations

import httpx

from nimbus.core.auth import RemoteTokenValidator
from nimbus.core.clients.service_token import ServiceCredentials
from nimbus.core.http import Ctx, create_app, nova_error_body
from tests.functional.conftest import BASE_URL, Cloud


def _service_app(cloud: Cloud, cache_seconds: float) -> tuple[httpx.AsyncClient,
                                                                RemoteTokenValidator]:
    validator = RemoteTokenValidator(
        f"{BASE_URL}/identity", ServiceCredentials("nimbus-service", "service-pw"),
        cloud.client, cache_seconds=cache_seconds)
    app = create_app(service="compute", render_error=nova_error_body, validator=validator)

    @app.get("/whoami")
    async def whoami(ctx: Ctx) -> dict[str, object]:
        return {"user": ctx.user_name, "project": ctx.project_name, "roles": sorted(ctx.roles)}

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")
    return client, validator


async def test_remote_validation_gives_the_callers_identity(cloud: Cloud) -> None:
    client, _ = _service_app(cloud, cache_seconds=30)
    async with client:
        resp = await client.get("/whoami", headers=await cloud.admin_headers())
        assert resp.status_code == 200
        assert resp.json() == {"user": "admin", "project": "admin",
                               "roles": ["admin", "manager", "member", "reader"]}
        bad = await client.get("/whoami", headers={"X-Auth-Token": "junk"})
        assert bad.status_code == 401 and "unauthorized" in bad.json()


async def test_remote_validation_sees_a_revocation_once_its_cache_expires(cloud: Cloud) -> None:
    client, validator = _service_app(cloud, cache_seconds=0)
    token = await cloud.token()
    async with client:
        assert (await client.get("/whoami", headers={"X-Auth-Token": token})).status_code == 200
        admin = await cloud.token()
        revoked = await cloud.client.delete("/identity/v3/auth/tokens", headers={
            "X-Auth-Token": admin, "X-Subject-Token": token})
        assert revoked.status_code == 204
        assert (await client.get("/whoami", headers={"X-Auth-Token": token})).status_code == 401
