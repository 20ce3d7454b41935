"""The serving side: an endpoint object's public async methods, on a topic, for one host.

    class ConductorManager:
        async def build_instances(self, ctx: RequestContext, *, instance_uuid: str) -> None: ...

    server = RpcServer(transport, "conductor", "node1", ConductorManager(...), version="1.4")
    await server.start()          # serves `conductor`, `conductor.node1` and the topic's fanout
    ...
    await server.stop()           # stop taking messages, let running handlers finish (bounded)

A message asks for an API version; the server takes it when the major matches and the minor is
not above its own, else the caller gets UnsupportedVersion. Before the handler runs, the
caller's request ids are bound for logging. A failing call answers with its error (declared
ones re-raised as their class on the caller, others as RemoteError and logged here with their
traceback). A failing cast or fanout is logged and acknowledged: a handler that failed once is
likely to fail again, and redelivering it forever would block the queue; the periodic
reconciliation of the conductor and agents catches what a lost cast left undone.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nimbus.core.context import RequestContext, global_request_id_var, request_id_var
from nimbus.core.rpc.errors import (
    NoSuchMethod,
    RemoteError,
    SerializationError,
    UnsupportedVersion,
    error_to_dict,
    is_declared,
    type_name,
)
from nimbus.core.rpc.message import Kind, Message, Reply, Target
from nimbus.core.rpc.transport import Listener, Transport

LOG = logging.getLogger(__name__)

Method = Callable[..., Awaitable[Any]]


def parse_version(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def version_is_compatible(served: str, wanted: str) -> bool:
    """Whether a server of API `served` can answer a caller asking for `wanted`."""
    try:
        (s_major, s_minor), (w_major, w_minor) = parse_version(served), parse_version(wanted)
    except ValueError:
        return False
    return s_major == w_major and w_minor <= s_minor


class RpcServer:
    def __init__(self, transport: Transport, topic: str, host: str, endpoint: object, *,
                 version: str = "1.0", prefetch: int = 16, stop_timeout: float = 30.0) -> None:
        parse_version(version)
        self.transport = transport
        self.topic = topic
        self.host = host
        self.endpoint = endpoint
        self.version = version
        self.prefetch = prefetch
        self.stop_timeout = stop_timeout
        self._listeners: list[Listener] = []

    @property
    def targets(self) -> tuple[Target, ...]:
        return (Target(self.topic), Target(self.topic, self.host),
                Target(self.topic, self.host, fanout=True))

    async def start(self) -> None:
        try:
            for target in self.targets:
                self._listeners.append(
                    await self.transport.serve(target, self.handle, prefetch=self.prefetch))
        except BaseException:
            await self.stop()
            raise
        LOG.info("serving %s on %s (API %s)", self.topic, self.host, self.version)

    async def stop(self) -> None:
        """Stop consuming; wait up to `stop_timeout` for running handlers, then cancel them."""
        listeners, self._listeners = self._listeners, []
        await asyncio.gather(*(listener.stop(self.stop_timeout) for listener in listeners))

    async def handle(self, msg: Message) -> Reply | None:
        """Run one message's method; the reply of a call, None for a cast or fanout."""
        request_id_var.set(msg.request_id)
        global_request_id_var.set(msg.global_request_id)
        LOG.debug("%s %s (v%s)%s on %s", msg.kind, msg.method, msg.version,
                  " redelivered" if msg.redelivered else "", msg.target.name)
        try:
            method = self._lookup(msg)
            result = await method(RequestContext.from_dict(msg.context), **msg.args)
        except Exception as exc:
            return self._failed(msg, exc)
        if msg.kind is not Kind.CALL:
            return None
        try:
            return Reply.result(msg.id, result)
        except SerializationError as exc:
            LOG.error("%s returned a result that cannot travel: %s", msg.method, exc)
            return Reply.failure(msg.id, error_to_dict(exc))

    def _lookup(self, msg: Message) -> Method:
        where = f"{self.topic} on {self.host}"
        if not version_is_compatible(self.version, msg.version):
            raise UnsupportedVersion(target=where, version=msg.version, served=self.version)
        method = None if msg.method.startswith("_") else getattr(self.endpoint, msg.method, None)
        if method is None or not inspect.iscoroutinefunction(method):
            raise NoSuchMethod(target=where, method=msg.method)
        return method  # type: ignore[no-any-return]

    def _failed(self, msg: Message, exc: Exception) -> Reply | None:
        if is_declared(exc):
            # The caller of a call gets it; for a cast this line is all that is left of it.
            LOG.log(logging.INFO if msg.kind is Kind.CALL else logging.WARNING,
                    "%s %s failed: %s: %s", msg.kind, msg.method, type(exc).__name__, exc)
        else:
            LOG.error("%s %s failed unexpectedly", msg.kind, msg.method, exc_info=exc)
        if msg.kind is not Kind.CALL:
            return None  # acknowledged: see the module docstring
        try:
            return Reply.failure(msg.id, error_to_dict(exc))
        except SerializationError:  # declared, but its params cannot travel
            return Reply.failure(msg.id, error_to_dict(
                RemoteError(exc_type=type_name(type(exc)), value=str(exc))))
