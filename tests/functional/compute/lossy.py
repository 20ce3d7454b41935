"""`LossyTransport`: a bus that loses the casts a test names, as a broker or a crash would."""

from __future__ import annotations

from nimbus.core.rpc import Transport
from nimbus.core.rpc.message import Kind, Message, Reply, Target
from nimbus.core.rpc.transport import Handler, Listener


class LossyTransport(Transport):
    """Forwards everything to `inner` except casts of the methods told to `lose`."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.lost: list[Message] = []
        self._losing: dict[str, int | None] = {}

    def lose(self, method: str, times: int | None = None) -> None:
        """Lose the next `times` casts of `method` (every one, when None)."""
        self._losing[method] = times

    async def send(self, msg: Message, *, timeout: float) -> Reply | None:
        if msg.kind == Kind.CAST and msg.method in self._losing:
            left = self._losing[msg.method]
            if left is None or left > 0:
                if left is not None:
                    self._losing[msg.method] = left - 1
                self.lost.append(msg)
                return None
        return await self.inner.send(msg, timeout=timeout)

    async def serve(self, target: Target, handler: Handler, *, prefetch: int) -> Listener:
        return await self.inner.serve(target, handler, prefetch=prefetch)

    async def aclose(self) -> None:
        await self.inner.aclose()
