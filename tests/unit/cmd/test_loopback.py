"""The all-in-one's service-to-service requests reach its own app in-process."""

from __future__ import annotations

import asyncio
import contextvars

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from nimbus.cmd.loopback import LoopbackClient

# A port nothing listens on: a request that reaches the network fails to connect.
BASE = "http://127.0.0.1:9"
seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="caller")


async def echo(request: Request) -> JSONResponse:
    seen.set("app")  # as the request-id middleware sets its variables
    body = await request.body()
    return JSONResponse({"method": request.method, "path": request.url.path,
                         "query": dict(request.query_params.multi_items()),
                         "token": request.headers.get("x-auth-token"),
                         "type": request.headers.get("content-type"),
                         "body": body.decode()},
                        status_code=201, headers={"X-Seen": "yes"})


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


def app() -> Starlette:
    return Starlette(routes=[Route("/placement/x", echo, methods=["GET", "PUT"]),
                             Route("/image/v2/images/i/file", echo), Route("/broken", broken)])


async def test_loopback_requests_to_own_address_reach_the_app_without_leaking_its_context() -> None:
    async with LoopbackClient(BASE) as client:
        client.app = app()
        resp = await client.get(f"{BASE}/placement/x", headers={"X-Auth-Token": "t"})
    assert (resp.status_code, resp.headers["x-seen"]) == (201, "yes")
    assert resp.json() == {"method": "GET", "path": "/placement/x", "query": {}, "token": "t",
                           "type": None, "body": ""}
    assert seen.get() == "caller"


async def test_loopback_carries_query_parameters_and_json_bodies_as_httpx_would() -> None:
    async with LoopbackClient(BASE) as client:
        client.app = app()
        resp = await client.put(f"{BASE}/placement/x?a=1", params={"b": "x y", "c": True},
                                json={"k": ["v"]})
    assert resp.json() == {"method": "PUT", "path": "/placement/x",
                           "query": {"a": "1", "b": "x y", "c": "true"}, "token": None,
                           "type": "application/json", "body": '{"k":["v"]}'}


async def test_loopback_answer_taking_too_long_is_a_read_timeout() -> None:
    async def slow(request: Request) -> PlainTextResponse:
        await asyncio.sleep(5)
        return PlainTextResponse("late")

    async with LoopbackClient(BASE) as client:
        client.app = Starlette(routes=[Route("/slow", slow)])
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{BASE}/slow", timeout=0.05)


async def test_loopback_app_failure_is_a_500_as_over_the_network() -> None:
    async with LoopbackClient(BASE) as client:
        client.app = app()
        assert (await client.get(f"{BASE}/broken")).status_code == 500


@pytest.mark.parametrize("url", [f"{BASE}/image/v2/images/i/file",  # streamed image data
                                 "http://127.0.0.1:10/placement/x"])  # another address
async def test_loopback_image_data_and_other_addresses_go_over_the_network(url: str) -> None:
    async with LoopbackClient(BASE) as client:
        client.app = app()
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
