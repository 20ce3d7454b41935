"""The all-in-one's calls from one service to another, handed to its own ASGI app in-process.

    transport = LoopbackTransport(settings.base_url)
    async with httpx.AsyncClient(transport=transport) as http:
        ...
        transport.app = apps.all_in_one_app(built)

In one process, compute asking placement for candidates over loopback TCP paid for an HTTP
client, a socket each way and uvicorn's parser around the same ASGI app it ends in. Here a
request to the process's own address goes straight to that app, so it meets the same routes,
middleware, token check and error bodies as over the network: the same contract, without the
sockets. What does not fit a buffered in-process call still goes over the network: image data
(`.../file`, possibly gigabytes, streamed), and anything before the app is set or elsewhere.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


def _streamed(path: str) -> bool:
    """Image data up or down: streamed, so never buffered whole in memory."""
    return path.endswith("/file")


class LoopbackTransport(httpx.AsyncBaseTransport):
    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self._origin = (url.scheme, url.host, url.port)
        self._network = httpx.AsyncHTTPTransport()
        self._local: httpx.ASGITransport | None = None

    @property
    def app(self) -> ASGIApp | None:
        return self._local.app if self._local is not None else None

    @app.setter
    def app(self, app: ASGIApp) -> None:
        # A failing handler answers 500 as it would over the network, instead of raising here.
        self._local = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (self._local is None or (url.scheme, url.host, url.port) != self._origin
                or _streamed(url.path)):
            return await self._network.handle_async_request(request)
        timeout = request.extensions.get("timeout", {}).get("read")
        # A task of its own: the app sets its request id and logging context variables, which
        # must not leak into the caller's, as they would not across a socket.
        call = asyncio.ensure_future(self._local.handle_async_request(request))
        try:
            async with asyncio.timeout(timeout):
                return await call
        except TimeoutError:
            raise httpx.ReadTimeout("no answer in time", request=request) from None

    async def aclose(self) -> None:
        await self._network.aclose()
