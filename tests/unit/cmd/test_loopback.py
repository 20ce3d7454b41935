"""The all-in-one's service-to-service requests reach its own app in-process."""

from __future__ import annotations

import contextvars

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from nimbus.cmd.loopback import LoopbackTransport

# A port nothing listens on: a request that reaches the network fails to connect.
BASE = "http://127.0.0.1:9"
seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="caller")


async def echo(request: Request) -> JSONResponse:
    seen.set("app")  # as the request-id middleware sets its variables
    return JSONResponse({"path": request.url.path, "token": request.headers.get("x-auth-token")},
                        status_code=201)


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


def app() -> Starlette:
    return Starlette(routes=[Route("/placement/x", echo), Route("/image/v2/images/i/file", echo),
                             Route("/broken", broken)])


async def test_loopback_requests_to_own_address_reach_the_app_without_leaking_its_context() -> None:
    transport = LoopbackTransport(BASE)
    transport.app = app()
    async with httpx.AsyncClient(transport=transport) as client:
        resp = await client.get(f"{BASE}/placement/x", headers={"X-Auth-Token": "t"})
    assert (resp.status_code, resp.json()) == (201, {"path": "/placement/x", "token": "t"})
    assert seen.get() == "caller"


async def test_loopback_app_failure_is_a_500_as_over_the_network() -> None:
    transport = LoopbackTransport(BASE)
    transport.app = app()
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(f"{BASE}/broken")).status_code == 500


@pytest.mark.parametrize("url", [f"{BASE}/image/v2/images/i/file",  # streamed image data
                                 "http://127.0.0.1:10/placement/x"])  # another address
async def test_loopback_image_data_and_other_addresses_go_over_the_network(url: str) -> None:
    transport = LoopbackTransport(BASE)
    transport.app = app()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
