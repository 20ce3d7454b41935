from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from nimbus.core import errors
from nimbus.core.auth import TokenValidator
from nimbus.core.context import RequestContext
from nimbus.core.http import (
    Ctx,
    create_app,
    glance_error_body,
    keystone_error_body,
    neutron_error_body,
    nova_error_body,
    parse_microversion,
)


class FakeValidator(TokenValidator):
    async def validate(self, token: str) -> RequestContext:
        if token != "good":
            raise errors.Unauthorized()
        return RequestContext(user_id="u1", project_id="p1", roles=("member",))


class Body(BaseModel):
    size: int


def _client() -> httpx.AsyncClient:
    app = create_app(service="test", render_error=nova_error_body, validator=FakeValidator(),
                     is_public=lambda method, path: path == "/public")

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/whoami")
    async def whoami(ctx: Ctx) -> dict[str, str | None]:
        return {"user": ctx.user_id, "request_id": ctx.request_id,
                "global": ctx.global_request_id}

    @app.post("/things")
    async def create(body: Body) -> dict[str, int]:
        return {"size": body.size}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/gone")
    async def gone() -> None:
        raise errors.NotFound("Thing 7 could not be found.")

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_auth_middleware_rejects_missing_and_bad_tokens_but_not_public_paths() -> None:
    async with _client() as client:
        assert (await client.get("/whoami")).status_code == 401
        assert (await client.get("/whoami", headers={"X-Auth-Token": "bad"})).status_code == 401
        assert (await client.get("/public")).status_code == 200
        ok = await client.get("/whoami", headers={"X-Auth-Token": "good"})
        assert ok.json()["user"] == "u1"
        assert ok.json()["request_id"] == ok.headers["X-Openstack-Request-Id"]


async def test_global_request_id_propagates_only_when_well_formed() -> None:
    good = "req-0b6e1f3a-1111-2222-3333-444455556666"
    async with _client() as client:
        resp = await client.get("/whoami", headers={"X-Auth-Token": "good",
                                                    "X-OpenStack-Request-ID": good})
        assert resp.json()["global"] == good
        resp = await client.get("/whoami", headers={"X-Auth-Token": "good",
                                                    "X-OpenStack-Request-ID": "evil\nheader"})
        assert resp.json()["global"] is None


async def test_validation_errors_become_400_and_unknown_errors_a_generic_500() -> None:
    async with _client() as client:
        headers = {"X-Auth-Token": "good"}
        resp = await client.post("/things", json={"size": "big"}, headers=headers)
        assert resp.status_code == 400
        assert resp.json()["badRequest"]["code"] == 400
        resp = await client.post("/things", content=b"{", headers={
            **headers, "Content-Type": "application/json"})
        assert resp.status_code == 400
        boom = await client.get("/boom", headers=headers)
        assert boom.status_code == 500
        assert "secret internals" not in boom.text
        assert boom.json()["computeFault"]["code"] == 500
        gone = await client.get("/gone", headers=headers)
        assert gone.json() == {"itemNotFound": {"code": 404,
                                                "message": "Thing 7 could not be found."}}
        missing = await client.get("/no/such/route", headers=headers)
        assert missing.status_code == 404 and "itemNotFound" in missing.json()


def test_error_bodies_follow_each_apis_shape() -> None:
    exc = errors.Conflict("taken")
    assert keystone_error_body(exc).body == (
        b'{"error":{"code":409,"title":"Conflict","message":"taken"}}')
    assert nova_error_body(exc).body == b'{"conflictingRequest":{"code":409,"message":"taken"}}'
    assert b'"type":"Conflict"' in neutron_error_body(exc).body
    assert glance_error_body(exc).body.startswith(b"409 Conflict\n\ntaken")


def test_microversion_parsing() -> None:
    lo, hi = (2, 1), (2, 79)
    assert parse_microversion(None, "compute", minimum=lo, maximum=hi) == lo
    assert parse_microversion("compute 2.5", "compute", minimum=lo, maximum=hi) == (2, 5)
    assert parse_microversion("compute latest", "compute", minimum=lo, maximum=hi) == hi
    assert parse_microversion("volume 3.1", "compute", minimum=lo, maximum=hi) == lo
    assert parse_microversion("2.10", "compute", minimum=lo, maximum=hi) == (2, 10)
    with pytest.raises(errors.NotAcceptable):
        parse_microversion("compute 2.200", "compute", minimum=lo, maximum=hi)
    with pytest.raises(errors.BadRequest):
        parse_microversion("compute two", "compute", minimum=lo, maximum=hi)
