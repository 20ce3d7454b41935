"""The transport seam: move RPC messages, nothing more.

    transport = transport_from_url(settings.transport_url)     # memory:// or amqp://
    server = RpcServer(transport, "conductor", host="node1", endpoint=ConductorManager(...))
    await server.start()
    conductor = RpcClient(transport, "conductor", version="1.0")
    hosts = await conductor.call(ctx, "select_destinations", spec=spec)
    await conductor.prepare(server="node1").cast(ctx, "build_and_run_instance", instance=i)
    ...
    await server.stop()
    await transport.aclose()

`RpcClient` and `RpcServer` own methods, versions, contexts, timeouts and errors; a transport
only delivers `Message`s and `Reply`s, with these guarantees on both implementations:

- call and cast messages are acknowledged only after the handler returned; a consumer that
  dies first (its connection closes, its process ends, its task is cancelled) leaves the message
  to be delivered again, to another consumer of the queue or to itself after a reconnect.
  Handlers are therefore idempotent;
- a handler that raises is a bug of the dispatch layer (`RpcServer` turns every failure into a
  reply or a log line): the message is delivered again once, then dropped with an error;
- fanout reaches the servers listening at the time of sending; it is not stored for others.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable

from nimbus.core.rpc.message import Message, Reply, Target

Handler = Callable[[Message], Awaitable[Reply | None]]
"""Handles one delivered message; returns the reply of a call, None otherwise."""


class Listener(abc.ABC):
    """One consumer of one queue, as returned by `Transport.serve`."""

    @abc.abstractmethod
    async def stop(self, timeout: float) -> None:
        """Stop taking messages, let running handlers finish, then close.

        Handlers still running after `timeout` seconds are cancelled; their messages were not
        acknowledged and will be delivered again.
        """


class Transport(abc.ABC):
    @abc.abstractmethod
    async def send(self, msg: Message, *, timeout: float) -> Reply | None:
        """Deliver one message to `msg.target`; for a call, wait for its reply.

        Raises RpcTimeout when a call gets no reply within `timeout`, TransportError when the bus
        does not take a cast or fanout within `timeout`, SerializationError for a payload that
        is not JSON. A cast is stored until a server of its target takes it (at least once).
        """

    @abc.abstractmethod
    async def serve(self, target: Target, handler: Handler, *, prefetch: int) -> Listener:
        """Consume `target`'s queue with `handler`, at most `prefetch` messages at a time.

        A direct target's queue is shared by every server that serves it (each message goes to
        one of them); a fanout target gives this server its own queue on the topic's fanout.
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the connection now, as a process exit would.

        Listeners still open lose their running handlers, whose messages go back to the queue;
        calls still waiting for a reply fail with TransportError. Stop servers first for a
        graceful exit.
        """
