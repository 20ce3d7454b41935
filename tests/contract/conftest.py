"""A message bus for contract tests: the same tests on the memory transport and on RabbitMQ.

`bus.connect()` opens one more connection to the same broker, as another process would (each
server that a test kills has its own). On RabbitMQ every test gets its own name prefix, so
parallel runs on the shared broker never meet, and its queues expire on their own if a test
dies before its clean-up. Set NIMBUS_TEST_SKIP_RABBITMQ=1 to skip the RabbitMQ half.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from nimbus.core.rpc import (
    AmqpTransport,
    MemoryBroker,
    MemoryTransport,
    RpcClient,
    RpcServer,
    Target,
    Transport,
)

RABBITMQ_URL = os.environ.get("NIMBUS_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")


class Bus:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.prefix = f"nimbus-test-{uuid.uuid4().hex[:12]}"
        self.broker = MemoryBroker()
        self.transports: list[Transport] = []
        self.servers: list[RpcServer] = []
        self.topics: set[str] = set()
        self.hosts: set[str] = set()

    def connect(self) -> Transport:
        transport: Transport
        if self.kind == "memory":
            transport = MemoryTransport(self.broker)
        else:
            transport = AmqpTransport(RABBITMQ_URL, prefix=self.prefix, client_name="nimbus-test",
                                      reconnect_interval=0.2, queue_expiry=120,
                                      reply_expiry=60)
        self.transports.append(transport)
        return transport

    def client(self, topic: str, transport: Transport | None = None, **kwargs: object) -> RpcClient:
        self.topics.add(topic)
        return RpcClient(transport or self.connect(), topic, **kwargs)  # type: ignore[arg-type]

    async def server(self, topic: str, host: str, endpoint: object,
                     transport: Transport | None = None, **kwargs: object) -> RpcServer:
        self.topics.add(topic)
        self.hosts.add(host)
        server = RpcServer(transport or self.connect(), topic, host, endpoint,
                           **{"stop_timeout": 5.0, **kwargs})  # type: ignore[arg-type]
        await server.start()
        self.servers.append(server)
        return server

    async def drain(self) -> None:
        """Memory: wait until idle. RabbitMQ has no such notion; tests wait on their endpoints."""
        if self.kind == "memory":
            assert isinstance(self.transports[0], MemoryTransport)
            await self.transports[0].drain()

    async def close(self) -> None:
        for server in self.servers:
            await server.stop()
        for transport in self.transports:
            await transport.aclose()
        if self.kind == "amqp":
            await self._delete_broker_objects()

    async def _delete_broker_objects(self) -> None:
        # Queues expire by themselves; fanout exchanges would stay until the broker restarts.
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            for topic in self.topics:
                names = [Target(topic)] + [Target(topic, host) for host in self.hosts]
                for target in names:
                    with contextlib.suppress(Exception):
                        await channel.queue_delete(f"{self.prefix}.{target.name}")
                with contextlib.suppress(Exception):
                    await channel.exchange_delete(f"{self.prefix}.{topic}_fanout")


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.rabbitmq)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "amqp" and os.environ.get("NIMBUS_TEST_SKIP_RABBITMQ"):
        pytest.skip("NIMBUS_TEST_SKIP_RABBITMQ is set")
    bus = Bus(request.param)
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def amqp_bus() -> AsyncIterator[Bus]:
    if os.environ.get("NIMBUS_TEST_SKIP_RABBITMQ"):
        pytest.skip("NIMBUS_TEST_SKIP_RABBITMQ is set")
    bus = Bus("amqp")
    try:
        yield bus
    finally:
        await bus.close()


async def drop_connection(transport: AmqpTransport) -> str:
    """Have the broker close this transport's connection, as a broker restart does.

    Uses `rabbitmqctl close_connection` on this connection only (never all: the broker is
    shared); without rabbitmqctl, closes the socket-level AMQP connection under aio-pika.
    Returns how it was done.
    """
    if shutil.which("rabbitmqctl"):
        listing = await _run("rabbitmqctl", "-q", "list_connections", "pid", "client_properties")
        pids = [line.split("\t", 1)[0] for line in (listing or "").splitlines()
                if transport.connection_name in line]
        if pids and all([await _run("rabbitmqctl", "-q", "close_connection", pid,
                                    "nimbus test: simulated broker restart") is not None
                         for pid in pids]):
            return "rabbitmqctl"
    connection = transport._connection  # noqa: SLF001 - the fallback needs the real socket
    assert connection is not None and connection.transport is not None
    await connection.transport.connection.close(ConnectionError("nimbus test: dropped"))
    return "aiormq"


async def _run(*argv: str) -> str | None:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    return out.decode() if proc.returncode == 0 else None
