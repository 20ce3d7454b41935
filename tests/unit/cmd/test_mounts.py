"""The all-in-one's front door answers as the Starlette app whose mounts it serves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from nimbus.cmd.mounts import MountDispatch

SCOPE_KEYS = ("path", "root_path", "app_root_path", "path_params", "route", "router", "endpoint")
seen: list[dict[str, Any]] = []


async def service(scope: Scope, receive: Receive, send: Send) -> None:
    seen.append({key: scope.get(key) for key in SCOPE_KEYS})
    await PlainTextResponse(f"{scope['root_path']} {scope['path']}")(scope, receive, send)


async def root(request: Request) -> JSONResponse:
    return JSONResponse({"base": str(request.base_url)})


def starlette() -> Starlette:
    return Starlette(routes=[Mount("/compute", app=service), Mount("/image", app=service),
                             Route("/", root)])


PATHS = ["/compute/v2.1", "/compute/", "/compute", "/compute//x", "/image/v2/images/i/file",
         "/computex/", "/", "/nope", "/compute/v2.1\n"]


async def answers(app: Any, path: str, root_path: str = "") -> tuple[int, str, str | None]:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as client:
        resp = await client.get(path.replace("\n", "%0A"), follow_redirects=False)
    return resp.status_code, resp.text, resp.headers.get("location")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("root_path", ["", "/r"])
async def test_mount_dispatch_answers_as_starlette(path: str, root_path: str) -> None:
    app = starlette()
    seen.clear()
    expected = await answers(app, path, root_path)
    scopes = list(seen)
    seen.clear()
    assert await answers(MountDispatch(app), path, root_path) == expected
    assert seen == scopes


def test_mount_dispatch_takes_only_the_leading_mounts() -> None:
    app = Starlette(routes=[Mount("/a", app=service), Route("/b/x", root),
                            Mount("/b", app=service)])
    assert list(MountDispatch(app).mounts) == ["a"]
