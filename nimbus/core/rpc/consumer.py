"""What both transports do with a delivered message: decode, handle, reply, then acknowledge.

The acknowledgement comes last, so a consumer that dies in between (cancelled task, closed
channel, ended process) never acknowledges and the message is delivered again.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from nimbus.core.rpc.errors import SerializationError
from nimbus.core.rpc.message import Message, Reply
from nimbus.core.rpc.transport import Handler
from nimbus.core.tasks import TaskGroup

LOG = logging.getLogger(__name__)


class Delivery(abc.ABC):
    """One message as a transport delivered it, with the transport's ways to settle it."""

    body: bytes
    redelivered: bool
    queue: str

    @abc.abstractmethod
    async def ack(self) -> None: ...

    @abc.abstractmethod
    async def reject(self, *, requeue: bool) -> None: ...

    @abc.abstractmethod
    async def send_reply(self, reply: Reply) -> None: ...


async def process(delivery: Delivery, handler: Handler) -> None:
    try:
        msg = Message.decode(delivery.body, redelivered=delivery.redelivered)
    except SerializationError:
        LOG.error("dropping an undecodable message from %s: %.200r", delivery.queue, delivery.body)
        await _settle(delivery.reject(requeue=False), delivery)
        return
    try:
        reply = await handler(msg)
    except Exception:
        # RpcServer turns every failure into a reply or a log line: this is a bug. Try once more
        # (another consumer may do better), then give up rather than loop forever.
        requeue = not delivery.redelivered
        LOG.exception("handler crashed on %s %s from %s; %s", msg.kind, msg.method, delivery.queue,
                      "delivering it again" if requeue else "dropping it")
        await _settle(delivery.reject(requeue=requeue), delivery)
        return
    if reply is not None:
        try:
            await delivery.send_reply(reply)
        except Exception:
            # The handler ran; running it again would not help a caller we cannot reach.
            LOG.warning("could not reply to %s %s on %s", msg.method, msg.id, delivery.queue,
                        exc_info=True)
    await _settle(delivery.ack(), delivery)


async def _settle(op: Coroutine[Any, Any, None], delivery: Delivery) -> None:
    try:
        await op
    except Exception as exc:
        # The channel that delivered it is gone: the broker will deliver it again.
        LOG.warning("could not settle a message from %s (%r); it will be delivered again",
                    delivery.queue, exc)


class InFlight:
    """The handler tasks of one listener: started guarded, waited for at stop, then cancelled."""

    def __init__(self, owner: str) -> None:
        self._group = TaskGroup(owner)
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, None], *, name: str) -> None:
        task = self._group.start(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._tasks)

    async def finish(self, timeout: float) -> None:
        """Wait up to `timeout` for running handlers, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        if self._tasks:
            LOG.warning("%s: cancelling %d handlers still running after %.1fs; their messages "
                        "will be delivered again", self._group.owner, len(self._tasks), timeout)
        await self._group.aclose()
