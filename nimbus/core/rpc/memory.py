"""The in-process transport of the all-in-one cloud, and the one tests drive.

A `MemoryBroker` holds the queues; each `MemoryTransport` is one connection to it (one per
process in the all-in-one cloud; tests open several on one broker to play several processes).
It keeps RabbitMQ's semantics that handlers can observe: messages are JSON bytes, competing
consumers share a topic queue, a message is acknowledged after its handler and delivered again
when its consumer dies first, a call message expires with its caller's timeout, and fanout
copies go to each listening server's own queue.

    transport = MemoryTransport()
    ...
    await transport.drain()          # tests: wait until every served queue is empty and idle
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import logging
import uuid
from collections.abc import Callable

from nimbus.core.rpc.consumer import Delivery, InFlight, process
from nimbus.core.rpc.errors import RpcTimeout, TransportError
from nimbus.core.rpc.message import Kind, Message, Reply, Target
from nimbus.core.rpc.transport import Handler, Listener, Transport
from nimbus.core.tasks import TaskGroup, wake_first

LOG = logging.getLogger(__name__)

ReplySink = Callable[[str, bytes], None]


@dataclasses.dataclass
class _Envelope:
    body: bytes
    reply_to: str | None = None
    correlation_id: str | None = None
    expires_at: float | None = None
    redelivered: bool = False


class _Queue:
    """A FIFO of envelopes whose consumers wait on it; counts what is taken but not settled."""

    def __init__(self, name: str, changed: asyncio.Event) -> None:
        self.name = name
        self.changed = changed
        self.consumers = 0
        self.unacked = 0
        self._items: collections.deque[_Envelope] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, env: _Envelope, *, front: bool = False) -> None:
        self.changed.set()
        if front:
            self._items.appendleft(env)
        else:
            self._items.append(env)
        self._wake()

    def _wake(self) -> None:
        wake_first(self._waiters)

    async def get(self) -> _Envelope:
        loop = asyncio.get_running_loop()
        while True:
            while not self._items:
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._wake()  # hand the wake-up to another consumer
                    raise
            env = self._items.popleft()
            self.changed.set()
            if env.expires_at is not None and env.expires_at < loop.time():
                LOG.debug("dropping a call on %s whose caller gave up", self.name)
                continue
            self.unacked += 1
            return env


class MemoryBroker:
    def __init__(self) -> None:
        self.queues: dict[str, _Queue] = {}
        self.fanouts: dict[str, dict[str, _Queue]] = collections.defaultdict(dict)
        self.reply_sinks: dict[str, ReplySink] = {}
        # Set on every change of a queue, for drain() to look again.
        self.changed = asyncio.Event()

    def queue(self, name: str) -> _Queue:
        if name not in self.queues:
            self.queues[name] = _Queue(name, self.changed)
        return self.queues[name]

    def bind_fanout(self, topic: str, name: str) -> _Queue:
        queue = self.fanouts[topic][name] = self.queue(name)
        return queue

    def delete_fanout_queue(self, topic: str, name: str) -> None:
        self.fanouts[topic].pop(name, None)
        self.queues.pop(name, None)

    def publish_fanout(self, topic: str, body: bytes) -> None:
        for queue in self.fanouts[topic].values():
            queue.put(_Envelope(body))

    def reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        sink = self.reply_sinks.get(reply_to)
        if sink is None:
            LOG.debug("dropping a reply to %s: its caller is gone", reply_to)
            return
        sink(correlation_id, body)

    def idle(self) -> bool:
        """Nothing left to do: every queue that has consumers is empty and fully acknowledged."""
        return all(q.unacked == 0 and (q.consumers == 0 or not q) for q in self.queues.values())


class _MemoryDelivery(Delivery):
    def __init__(self, broker: MemoryBroker, queue: _Queue, env: _Envelope) -> None:
        self.broker, self._queue, self.env = broker, queue, env
        self.body, self.redelivered, self.queue = env.body, env.redelivered, queue.name
        self.settled = False

    def settle(self, *, requeue: bool) -> None:
        if self.settled:
            return
        self.settled = True
        self._queue.unacked -= 1
        self._queue.changed.set()
        if requeue:
            self._queue.put(dataclasses.replace(self.env, redelivered=True), front=True)

    async def ack(self) -> None:
        self.settle(requeue=False)

    async def reject(self, *, requeue: bool) -> None:
        self.settle(requeue=requeue)

    async def send_reply(self, reply: Reply) -> None:
        if self.env.reply_to is not None and self.env.correlation_id is not None:
            self.broker.reply(self.env.reply_to, self.env.correlation_id, reply.body)


class _MemoryListener(Listener):
    _ids = itertools.count(1)

    def __init__(self, transport: MemoryTransport, queue: _Queue, handler: Handler,
                 prefetch: int, fanout_topic: str | None) -> None:
        self._transport, self._queue, self._handler = transport, queue, handler
        self._fanout_topic = fanout_topic
        self._slots = asyncio.Semaphore(prefetch)
        self._inflight = InFlight(f"rpc-memory:{queue.name}")
        self._loop = TaskGroup(f"rpc-memory:{queue.name}")
        self._closed = False
        queue.consumers += 1
        self._loop.start(self._consume(), name=f"consumer-{next(self._ids)}")

    async def _consume(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                env = await self._queue.get()
            except BaseException:
                self._slots.release()
                raise
            delivery = _MemoryDelivery(self._transport.broker, self._queue, env)
            self._inflight.start(self._deliver(delivery), name=f"message-{env.correlation_id}")

    async def _deliver(self, delivery: _MemoryDelivery) -> None:
        try:
            await process(delivery, self._handler)
        finally:
            # A cancelled handler is a consumer that died before acknowledging.
            delivery.settle(requeue=True)
            self._slots.release()

    async def stop(self, timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        await self._loop.aclose()
        await self._inflight.finish(timeout)
        self._queue.consumers -= 1
        self._queue.changed.set()
        if self._fanout_topic is not None:
            self._transport.broker.delete_fanout_queue(self._fanout_topic, self._queue.name)
        self._transport.listeners.discard(self)


class MemoryTransport(Transport):
    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.broker = broker or MemoryBroker()
        self.listeners: set[_MemoryListener] = set()
        self._reply_to = f"reply.{uuid.uuid4().hex}"
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._closed = False
        self.broker.reply_sinks[self._reply_to] = self._on_reply

    def _on_reply(self, correlation_id: str, body: bytes) -> None:
        waiter = self._pending.get(correlation_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(body)

    async def send(self, msg: Message, *, timeout: float) -> Reply | None:
        body = msg.encode()
        if self._closed:
            raise TransportError(reason="the transport is closed")
        if msg.kind is Kind.FANOUT:
            self.broker.publish_fanout(msg.target.topic, body)
            return None
        queue = self.broker.queue(msg.target.name)
        if msg.kind is Kind.CAST:
            queue.put(_Envelope(body))
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        self._pending[msg.id] = waiter
        queue.put(_Envelope(body, reply_to=self._reply_to, correlation_id=msg.id,
                            expires_at=loop.time() + timeout))
        try:
            async with asyncio.timeout(timeout):
                return Reply(await waiter)
        except TimeoutError:
            raise RpcTimeout(method=msg.method, target=msg.target.name, timeout=timeout) from None
        finally:
            self._pending.pop(msg.id, None)

    async def serve(self, target: Target, handler: Handler, *, prefetch: int) -> Listener:
        if self._closed:
            raise TransportError(reason="the transport is closed")
        if target.fanout:
            name = f"{target.topic}_fanout.{target.server}.{uuid.uuid4().hex[:8]}"
            queue, topic = self.broker.bind_fanout(target.topic, name), target.topic
        else:
            queue, topic = self.broker.queue(target.name), None
        listener = _MemoryListener(self, queue, handler, prefetch, topic)
        self.listeners.add(listener)
        return listener

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until the broker is idle: what was sent to a served queue has been handled."""
        async with asyncio.timeout(timeout):
            while not self.broker.idle():
                self.broker.changed.clear()
                await self.broker.changed.wait()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for listener in list(self.listeners):
            await listener.stop(0)
        self.broker.reply_sinks.pop(self._reply_to, None)
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(TransportError(reason="the transport closed before the reply"))
