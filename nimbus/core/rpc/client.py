"""The calling side: call (wait for the result), cast (fire and forget), fanout (every server).

    scheduler = RpcClient(transport, "scheduler", version="1.2", timeout=60)
    hosts = await scheduler.call(ctx, "select_destinations", spec=spec)
    await scheduler.prepare(server="node1", timeout=5).call(ctx, "ping")
    await RpcClient(transport, "compute").fanout(ctx, "refresh_cache")

Every message carries the caller's RequestContext (without its token) and the request ids
bound for logging, so the server's log lines carry the same ids. A call re-raises the handler's
declared error as its own class, anything else as RemoteError (see `errors`).
"""

from __future__ import annotations

from typing import Any

from nimbus.core.context import RequestContext, global_request_id_var, request_id_var
from nimbus.core.rpc.errors import TransportError, error_from_dict
from nimbus.core.rpc.message import Kind, Message, Target
from nimbus.core.rpc.transport import Transport

DEFAULT_TIMEOUT = 60.0


class RpcClient:
    def __init__(self, transport: Transport, topic: str, *, version: str = "1.0",
                 server: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.transport = transport
        self.topic = topic
        self.version = version
        self.server = server
        self.timeout = timeout

    def prepare(self, *, server: str | None = None, timeout: float | None = None,
                version: str | None = None) -> RpcClient:
        """A copy aimed at one server's queue (`topic.server`), or with another timeout or version."""
        return RpcClient(self.transport, self.topic, version=version or self.version,
                         server=server or self.server,
                         timeout=timeout if timeout is not None else self.timeout)

    async def call(self, ctx: RequestContext, method: str, /, *, timeout: float | None = None,
                   **kwargs: Any) -> Any:
        """Run `method` on one server and return its result.

        Raises RpcTimeout past `timeout` (the client's by default; it is never passed on to
        the method). The method may then have run or still be running; a call no server took
        in time expires unhandled.
        """
        msg = self._message(Kind.CALL, Target(self.topic, self.server), ctx, method, kwargs)
        reply = await self.transport.send(msg, timeout=timeout if timeout is not None else self.timeout)
        if reply is None:
            raise TransportError(reason=f"{type(self.transport).__name__} gave no reply to a call")
        result, error = reply.decode()
        if error is not None:
            raise error_from_dict(error)
        return result

    async def cast(self, ctx: RequestContext, method: str, /, **kwargs: Any) -> None:
        """Have one server run `method`; returns once the bus holds the message (at least once)."""
        msg = self._message(Kind.CAST, Target(self.topic, self.server), ctx, method, kwargs)
        await self.transport.send(msg, timeout=self.timeout)

    async def fanout(self, ctx: RequestContext, method: str, /, **kwargs: Any) -> None:
        """Have every server of the topic listening now run `method`; nothing waits for them."""
        msg = self._message(Kind.FANOUT, Target(self.topic, fanout=True), ctx, method, kwargs)
        await self.transport.send(msg, timeout=self.timeout)

    def _message(self, kind: Kind, target: Target, ctx: RequestContext, method: str,
                 args: dict[str, Any]) -> Message:
        return Message(kind=kind, target=target, method=method, version=self.version, args=args,
                       context=ctx.to_dict(),
                       request_id=request_id_var.get() or ctx.request_id,
                       global_request_id=global_request_id_var.get() or ctx.global_request_id)
