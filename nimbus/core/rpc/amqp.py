"""The RabbitMQ transport (aio-pika), for nimbus processes on several machines.

    transport = AmqpTransport("amqp://guest:guest@127.0.0.1:5672/", prefix="nimbus")

One transport is one robust connection: after a connection drop or a broker restart it
reconnects every `reconnect_interval` seconds and re-declares its queues, bindings and
consumers. Names, with prefix p:

    p.<topic>, p.<topic>.<host>   durable queues, fed through the default exchange with
                                  persistent messages; declared by senders too, so a cast sent
                                  before any server started waits for one
    p.<topic>_fanout              fanout exchange of a topic (kept: a sender must never publish
                                  to a missing exchange, which would close its channel)
    p.<topic>_fanout.<host>.<id>  one server's exclusive, auto-delete queue on that exchange
    p.reply.<id>                  this connection's reply queue; neither exclusive nor
                                  auto-delete, so it and the replies in it outlive a dropped
                                  connection, and it expires `reply_expiry` seconds after
                                  its last consumer is gone

Every publish waits for the broker's confirm and is retried across a reconnect until the
caller's timeout; a lost confirm can thus duplicate a message (handlers are idempotent).
Messages are acknowledged after their handler, from a task of our own, so a dropped channel
never cancels a running handler: its acknowledgement then fails and the broker delivers the
message again. Each listener has its own channel and prefetch limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelPreconditionFailed, DeliveryError
from aiormq.exceptions import ChannelAccessRefused
from yarl import URL

from nimbus.core.rpc.consumer import Delivery, InFlight, process
from nimbus.core.rpc.errors import RpcTimeout, TransportError
from nimbus.core.rpc.message import Kind, Message, Reply, Target
from nimbus.core.rpc.transport import Handler, Listener, Transport

LOG = logging.getLogger(__name__)

# Errors that retrying will not fix: a queue declared with other arguments, a refused vhost.
_PERMANENT = (ChannelPreconditionFailed, ChannelAccessRefused)


@dataclasses.dataclass(frozen=True)
class AmqpNames:
    prefix: str = "nimbus"

    def queue(self, target: Target) -> str:
        return f"{self.prefix}.{target.name}"

    def fanout_exchange(self, topic: str) -> str:
        return f"{self.prefix}.{topic}_fanout"

    def fanout_queue(self, target: Target) -> str:
        return f"{self.fanout_exchange(target.topic)}.{target.server}.{uuid.uuid4().hex[:12]}"

    def reply_queue(self) -> str:
        return f"{self.prefix}.reply.{uuid.uuid4().hex}"


class _AmqpDelivery(Delivery):
    def __init__(self, transport: AmqpTransport, incoming: AbstractIncomingMessage,
                 queue: str) -> None:
        self._transport, self._incoming = transport, incoming
        self.body, self.redelivered, self.queue = incoming.body, bool(incoming.redelivered), queue

    async def ack(self) -> None:
        await self._incoming.ack()

    async def reject(self, *, requeue: bool) -> None:
        await self._incoming.reject(requeue=requeue)

    async def send_reply(self, reply: Reply) -> None:
        if self._incoming.reply_to and self._incoming.correlation_id:
            await self._transport.publish_reply(self._incoming.reply_to,
                                                self._incoming.correlation_id, reply.body)


class _AmqpListener(Listener):
    def __init__(self, transport: AmqpTransport, channel: AbstractRobustChannel,
                 queue: AbstractQueue, handler: Handler) -> None:
        self._transport, self._channel, self._queue = transport, channel, queue
        self._handler = handler
        self._inflight = InFlight(f"rpc-amqp:{queue.name}")
        self._tag: str | None = None
        self._stopping = False

    async def start(self) -> None:
        self._tag = await self._queue.consume(self._on_message)

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        if self._stopping:
            return  # never acknowledged: back to the queue when the channel closes
        delivery = _AmqpDelivery(self._transport, incoming, self._queue.name)
        self._inflight.start(process(delivery, self._handler), name=f"message-{incoming.delivery_tag}")

    async def stop(self, timeout: float) -> None:
        if self._stopping:
            return
        self._stopping = True
        if self._tag is not None:
            try:
                async with asyncio.timeout(5):
                    await self._queue.cancel(self._tag)
            except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
                LOG.debug("cancelling the consumer of %s failed: %s", self._queue.name, exc)
        await self._inflight.finish(timeout)
        await self.close_channel()

    async def abort(self) -> None:
        """As a process exit: cancel running handlers; their messages go back to the queue."""
        self._stopping = True
        await self._inflight.finish(0)
        await self.close_channel()

    async def close_channel(self) -> None:
        self._transport.listeners.discard(self)
        try:
            await self._channel.close()
        except CONNECTION_EXCEPTIONS as exc:
            LOG.debug("closing the channel of %s failed: %s", self._queue.name, exc)


class AmqpTransport(Transport):
    def __init__(self, url: str, *, prefix: str = "nimbus", client_name: str = "nimbus",
                 reconnect_interval: float = 1.0, connect_timeout: float = 10.0,
                 queue_expiry: float | None = None, reply_expiry: float = 600.0) -> None:
        """`queue_expiry` (seconds) deletes topic queues unused that long: for tests only."""
        parsed = URL(url)
        if parsed.scheme == "rabbit":
            parsed = parsed.with_scheme("amqp")
        self.url = parsed
        self.names = AmqpNames(prefix)
        self.connection_name = f"{client_name}:{prefix}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.reconnect_interval = reconnect_interval
        self.connect_timeout = connect_timeout
        self.listeners: set[_AmqpListener] = set()
        self._queue_args = {"x-expires": int(queue_expiry * 1000)} if queue_expiry else None
        self._reply_args = {"x-expires": int(reply_expiry * 1000)}
        self._reply_to: str | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._lock = asyncio.Lock()
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._declared: dict[str, AbstractExchange | None] = {}
        self._closed = False
        self.reconnects = 0  # connections restored after a drop, with their queues and consumers

    def __repr__(self) -> str:
        return f"<AmqpTransport {self.url.with_password(None)} {self.connection_name}>"

    # -- connection -----------------------------------------------------------------------

    async def _connect(self) -> AbstractRobustConnection:
        async with self._lock:
            if self._closed:
                raise TransportError(reason="the transport is closed")
            if self._connection is not None:
                return self._connection
            try:
                connection = await aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": self.connection_name},
                    reconnect_interval=self.reconnect_interval, timeout=self.connect_timeout)
                self._publisher = await connection.channel(publisher_confirms=True)
            except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
                raise TransportError(reason=f"cannot reach {self.url.with_password(None)}: "
                                            f"{exc or type(exc).__name__}") from exc
            connection.reconnect_callbacks.add(self._on_reconnect)
            self._connection = connection
            return connection

    def _on_reconnect(self, *_: Any) -> None:
        # After a broker restart, non-durable exchanges are gone: declare again before sending.
        self._declared.clear()
        self.reconnects += 1
        LOG.info("reconnected to %s", self.url.with_password(None))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for listener in list(self.listeners):
            await listener.abort()
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(TransportError(reason="the transport closed before the reply"))
        if self._connection is not None:
            await self._delete_reply_queue()
            await self._connection.close()

    async def _delete_reply_queue(self) -> None:
        # Nobody will read it again; it would otherwise linger until it expires.
        if self._reply_to is None or self._publisher is None:
            return
        try:
            async with asyncio.timeout(2):
                await self._publisher.queue_delete(self._reply_to)
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
            LOG.debug("could not delete %s: %r", self._reply_to, exc)

    # -- sending --------------------------------------------------------------------------

    async def send(self, msg: Message, *, timeout: float) -> Reply | None:
        body = msg.encode()
        persistent = aio_pika.DeliveryMode.PERSISTENT
        if msg.kind is Kind.FANOUT:
            exchange, routing_key = self.names.fanout_exchange(msg.target.topic), ""
            persistent = aio_pika.DeliveryMode.NOT_PERSISTENT
        else:
            exchange, routing_key = "", self.names.queue(msg.target)
        waiter: asyncio.Future[bytes] | None = None
        try:
            async with asyncio.timeout(timeout):
                props: dict[str, Any] = {}
                if msg.kind is Kind.CALL:
                    props = {"reply_to": await self._reply_queue(), "correlation_id": msg.id,
                             "expiration": timeout}
                    waiter = self._pending[msg.id] = asyncio.get_running_loop().create_future()
                await self._publish(exchange, routing_key, aio_pika.Message(
                    body, content_type="application/json", delivery_mode=persistent,
                    message_id=msg.id, **props))
                if waiter is None:
                    return None
                return Reply(await waiter)
        except TimeoutError:
            if msg.kind is Kind.CALL:
                raise RpcTimeout(method=msg.method, target=msg.target.name, timeout=timeout) from None
            raise TransportError(reason=f"no confirm within {timeout}s") from None
        finally:
            self._pending.pop(msg.id, None)

    async def _publish(self, exchange: str, routing_key: str, message: aio_pika.Message, *,
                       declare: bool = True) -> None:
        """Publish with confirm, through reconnects; the caller bounds it with a timeout.

        With `declare`, first make sure the target exists (a durable topic queue or a fanout
        exchange), so that the message is kept rather than dropped as unroutable.
        """
        while True:
            await self._connect()
            assert self._publisher is not None
            try:
                if declare:
                    target = await self._declare_for_sending(exchange, routing_key)
                else:
                    target = self._publisher.default_exchange
                await target.publish(message, routing_key, mandatory=False)
                return
            except DeliveryError as exc:
                raise TransportError(reason=f"the broker refused the message ({exc})") from exc
            except _PERMANENT as exc:
                raise TransportError(reason=str(exc)) from exc
            except CONNECTION_EXCEPTIONS as exc:
                LOG.warning("publishing to %s failed (%s); retrying", exchange or routing_key,
                            exc or type(exc).__name__)
                self._declared.clear()
                await asyncio.sleep(min(self.reconnect_interval, 0.5))

    async def _declare_for_sending(self, exchange: str, routing_key: str) -> AbstractExchange:
        assert self._publisher is not None
        if exchange == "":
            if routing_key not in self._declared:
                await self._publisher.declare_queue(routing_key, durable=True,
                                                    arguments=self._queue_args, robust=False)
                self._declared[routing_key] = None
            return self._publisher.default_exchange
        declared = self._declared.get(exchange)
        if declared is None:
            declared = self._declared[exchange] = await self._publisher.declare_exchange(
                exchange, aio_pika.ExchangeType.FANOUT, robust=False)
        return declared

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        async with asyncio.timeout(30):
            await self._publish("", reply_to, aio_pika.Message(
                body, content_type="application/json", correlation_id=correlation_id,
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT), declare=False)

    async def _reply_queue(self) -> str:
        connection = await self._connect()
        async with self._lock:
            if self._reply_to is None:
                name = self.names.reply_queue()
                channel = await connection.channel(publisher_confirms=False)
                queue = await channel.declare_queue(name, arguments=self._reply_args)
                await queue.consume(self._on_reply)
                self._reply_to = name
            return self._reply_to

    async def _on_reply(self, incoming: AbstractIncomingMessage) -> None:
        waiter = self._pending.get(incoming.correlation_id or "")
        LOG.debug("reply %s (%s)", incoming.correlation_id, "awaited" if waiter else "unknown")
        if waiter is not None and not waiter.done():
            waiter.set_result(incoming.body)
        try:
            await incoming.ack()
        except CONNECTION_EXCEPTIONS as exc:  # delivered again after the reconnect, then ignored
            LOG.debug("could not acknowledge a reply: %r", exc)

    # -- serving --------------------------------------------------------------------------

    async def serve(self, target: Target, handler: Handler, *, prefetch: int) -> Listener:
        connection = await self._connect()
        try:
            channel = await connection.channel(publisher_confirms=False)
        except CONNECTION_EXCEPTIONS as exc:
            raise TransportError(reason=f"cannot serve {target.name}: {exc!r}") from exc
        try:
            await channel.set_qos(prefetch_count=prefetch)
            if target.fanout:
                exchange = await channel.declare_exchange(
                    self.names.fanout_exchange(target.topic), aio_pika.ExchangeType.FANOUT)
                queue = await channel.declare_queue(self.names.fanout_queue(target),
                                                    exclusive=True, auto_delete=True)
                await queue.bind(exchange)
            else:
                queue = await channel.declare_queue(self.names.queue(target), durable=True,
                                                    arguments=self._queue_args)
            listener = _AmqpListener(self, channel, queue, handler)
            await listener.start()
        except CONNECTION_EXCEPTIONS as exc:
            await asyncio.gather(channel.close(), return_exceptions=True)
            raise TransportError(reason=f"cannot serve {target.name}: {exc!r}") from exc
        self.listeners.add(listener)
        return listener
