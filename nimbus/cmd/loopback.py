"""The all-in-one's calls from one service to another, handed to its own ASGI app in-process.

    async with LoopbackClient(settings.base_url) as http:
        ...
        http.app = apps.all_in_one_app(built)

In one process, compute asking placement for candidates over loopback TCP paid for a socket
each way and uvicorn's parser around the same ASGI app it ends in; through httpx's
in-process transport it still paid for httpx's generic request and response machinery
(URL parsing and merging, header objects, cookie jars, auth and redirect flows), as much
CPU again as the app's own middleware. Here a request to the process's own address becomes
an ASGI call directly, so it meets the same routes, middleware, token check and error bodies
as over the network: the same contract, without the sockets. What does not fit a buffered
in-process call still goes through httpx to the network: image data (`.../file`, possibly
gigabytes, streamed), bodies other than JSON, and anything before the app is set or
addressed elsewhere.

A response made here carries no `request` (nothing in Nimbus reads it); `raise_for_status`
needs one, so callers check `status_code`, as they do.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from starlette.types import ASGIApp, Message

# What httpx would send by default, so that the app sees the same request either way.
_DEFAULT_HEADERS = ((b"accept", b"*/*"), (b"user-agent", f"python-httpx/{httpx.__version__}".encode()))


def _streamed(path: str) -> bool:
    """Image data up or down: streamed, so never buffered whole in memory."""
    return path.endswith("/file")


class LoopbackClient(httpx.AsyncClient):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        url = httpx.URL(base_url)
        # Callers build URLs from the same base_url string, so a prefix test finds them.
        self._prefix = str(base_url).rstrip("/") + "/"
        self._server = (url.host, url.port)
        self._scheme = url.scheme
        self.app: ASGIApp | None = None

    async def request(self, method: str, url: httpx.URL | str, *,
                      content: Any = None, data: Any = None, files: Any = None, json: Any = None,
                      params: Any = None, headers: Any = None, cookies: Any = None,
                      auth: Any = httpx.USE_CLIENT_DEFAULT,
                      follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
                      timeout: Any = httpx.USE_CLIENT_DEFAULT,
                      extensions: Any = None) -> httpx.Response:
        if (self.app is None or not isinstance(url, str) or not url.startswith(self._prefix)
                or content is not None or data is not None or files is not None
                or cookies is not None or auth is not httpx.USE_CLIENT_DEFAULT
                or extensions is not None or _streamed(url.partition("?")[0])):
            return await super().request(
                method, url, content=content, data=data, files=files, json=json,
                params=params, headers=headers, cookies=cookies, auth=auth,
                follow_redirects=follow_redirects, timeout=timeout, extensions=extensions)
        return await self._in_process(self.app, method, url, json=json, params=params,
                                      headers=headers, timeout=self._read_timeout(timeout))

    def _read_timeout(self, timeout: Any) -> float | None:
        if timeout is httpx.USE_CLIENT_DEFAULT:
            return self.timeout.read
        if isinstance(timeout, httpx.Timeout):
            return timeout.read
        return float(timeout) if timeout is not None else None

    async def _in_process(self, app: ASGIApp, method: str, url: str, *, json: Any,
                          params: Any, headers: Any, timeout: float | None) -> httpx.Response:
        target, _, query = url[len(self._prefix) - 1:].partition("?")
        if params:
            extra = str(httpx.QueryParams(params))
            query = f"{query}&{extra}" if query else extra
        raw_headers = [(b"host", f"{self._server[0]}:{self._server[1]}".encode()),
                       *_DEFAULT_HEADERS]
        for name, value in (headers or {}).items():
            raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        body = b""
        if json is not None:
            body = orjson.dumps(json)
            raw_headers.append((b"content-length", str(len(body)).encode()))
            raw_headers.append((b"content-type", b"application/json"))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method.upper(), "headers": raw_headers, "scheme": self._scheme,
                 "path": unquote(target), "raw_path": target.encode(),
                 "query_string": query.encode(), "server": self._server,
                 "client": ("127.0.0.1", 0), "root_path": ""}
        # A task of its own: the app sets its request id and logging context variables, which
        # must not leak into the caller's, as they would not across a socket.
        call = asyncio.ensure_future(_call(app, scope, body))
        try:
            async with asyncio.timeout(timeout):
                status, response_headers, content = await call
        except TimeoutError:
            raise httpx.ReadTimeout("no answer in time") from None
        return httpx.Response(status, headers=response_headers, content=content)


async def _call(app: ASGIApp, scope: dict[str, Any], body: bytes
                ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through the app, buffered; a failing handler answers 500 as it would
    over the network, instead of raising into the caller."""
    sent = False
    done = asyncio.Event()
    start: Message | None = None
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await done.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    except Exception:
        pass  # the caller gets what was sent, or the 500 below, as over the network
    finally:
        done.set()
    if start is None:
        return 500, [], b""
    return start["status"], list(start.get("headers", [])), b"".join(chunks)
