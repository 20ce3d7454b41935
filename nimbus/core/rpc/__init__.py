"""RPC inside a service: `RpcClient` calls, casts and fans out; `RpcServer` dispatches to an
endpoint object; a `Transport` moves the messages (`memory://` in one process, `amqp://` over
RabbitMQ). See `transport` for a usage example and the delivery guarantees.
"""

from __future__ import annotations

import urllib.parse

from nimbus.core.rpc.amqp import AmqpTransport
from nimbus.core.rpc.client import RpcClient
from nimbus.core.rpc.errors import (
    NoSuchMethod,
    RemoteError,
    RpcError,
    RpcTimeout,
    SerializationError,
    TransportError,
    UnsupportedVersion,
    allow,
)
from nimbus.core.rpc.memory import MemoryBroker, MemoryTransport
from nimbus.core.rpc.message import Message, Reply, Target
from nimbus.core.rpc.server import RpcServer
from nimbus.core.rpc.transport import Listener, Transport

__all__ = [
    "AmqpTransport", "Listener", "MemoryBroker", "MemoryTransport", "Message", "NoSuchMethod",
    "RemoteError", "Reply", "RpcClient", "RpcError", "RpcServer", "RpcTimeout",
    "SerializationError", "Target", "Transport", "TransportError", "UnsupportedVersion",
    "allow", "transport_from_url",
]


def transport_from_url(url: str) -> Transport:
    """`memory://` (one process), `amqp://` or `rabbit://` (RabbitMQ, `?prefix=` to rename)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "memory":
        return MemoryTransport()
    if parsed.scheme in ("amqp", "amqps", "rabbit"):
        query = urllib.parse.parse_qsl(parsed.query)
        prefix = dict(query).get("prefix", "nimbus")
        rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "prefix"])
        return AmqpTransport(parsed._replace(query=rest).geturl(), prefix=prefix)
    raise ValueError(f"unknown transport {parsed.scheme!r} in transport_url (memory://, amqp://)")
