"""What the RPC contract tests serve and send: an endpoint that records, blocks, fails and
logs on request, a caller's context, and how long anything on the bus may take."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nimbus.core.context import RequestContext, global_request_id_var, request_id_var
from nimbus.core.errors import NotFound
from nimbus.core.rpc import allow

LOG = logging.getLogger("nimbus.test.endpoint")
WAIT = 15.0  # generous bound for anything the broker must do; tests never take this long


class WidgetNotFound(NotFound):
    template = "Widget {widget_id} could not be found."


@allow
class WidgetJammed(Exception):
    """Not a NimbusError, but declared with `allow`."""


class Endpoint:
    def __init__(self, name: str) -> None:
        self.name = name
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        self.started: asyncio.Queue[Any] = asyncio.Queue()
        self.release = asyncio.Event()
        self.running = 0
        self.max_running = 0
        self.failures = 0

    async def echo(self, ctx: RequestContext, *, value: Any) -> dict[str, Any]:
        return {"value": value, "server": self.name}

    async def record(self, ctx: RequestContext, *, value: Any) -> None:
        await self.received.put((self.name, value))

    async def block(self, ctx: RequestContext, *, value: Any) -> str:
        """Runs until the test sets `release`."""
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        await self.started.put(value)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        await self.received.put((self.name, value))
        return self.name

    async def whoami(self, ctx: RequestContext) -> dict[str, Any]:
        LOG.info("whoami on %s", self.name)
        ids = {"user_id": ctx.user_id, "project_id": ctx.project_id, "roles": list(ctx.roles),
               "ctx_request_id": ctx.request_id, "request_id": request_id_var.get(),
               "global_request_id": global_request_id_var.get()}
        await self.received.put((self.name, ids))
        return ids

    async def lose_widget(self, ctx: RequestContext, *, widget_id: str) -> None:
        raise WidgetNotFound(widget_id=widget_id)

    async def jam_widget(self, ctx: RequestContext) -> None:
        raise WidgetJammed("gears stuck", 3)

    async def crash(self, ctx: RequestContext) -> None:
        self.failures += 1
        raise KeyError("internal detail")

    async def bad_result(self, ctx: RequestContext) -> set[int]:
        return {1, 2}

    async def _private(self, ctx: RequestContext) -> None:
        raise AssertionError("never callable over RPC")

    def not_async(self, ctx: RequestContext) -> None:
        raise AssertionError("never callable over RPC")


def ctx() -> RequestContext:
    return RequestContext(user_id="u1", project_id="p1", roles=("member",),
                          request_id="req-11111111-1111-1111-1111-111111111111",
                          global_request_id="req-99999999-9999-9999-9999-999999999999",
                          auth_token="secret-token")


async def next_item(queue: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(queue.get(), WAIT)
