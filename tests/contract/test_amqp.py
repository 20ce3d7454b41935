"""RabbitMQ only: what the memory transport has no way to lose (connections, the broker)."""

from __future__ import annotations

import asyncio

import pytest

from nimbus.core.rpc import AmqpTransport, RpcClient, TransportError
from tests.contract.conftest import Bus, drop_connection
from tests.contract.endpoint import WAIT, Endpoint, ctx, next_item

pytestmark = pytest.mark.rabbitmq


async def reconnected(transport: AmqpTransport, count: int = 1) -> None:
    """Wait until the transport restored its channels, queues and consumers `count` times."""
    async with asyncio.timeout(WAIT):
        while transport.reconnects < count:  # noqa: ASYNC110 - a counter, polled in a test only
            await asyncio.sleep(0.02)


async def test_server_and_client_survive_a_dropped_connection(amqp_bus: Bus) -> None:
    server_side, client_side = amqp_bus.connect(), amqp_bus.connect()
    assert isinstance(server_side, AmqpTransport) and isinstance(client_side, AmqpTransport)
    one, two = Endpoint("h1"), Endpoint("h2")
    await amqp_bus.server("widgets", "h1", one, transport=server_side)
    await amqp_bus.server("widgets", "h2", two)
    client = amqp_bus.client("widgets", transport=client_side)
    assert (await client.prepare(server="h1").call(ctx(), "echo", value=1))["server"] == "h1"

    await drop_connection(server_side)
    await drop_connection(client_side)
    await reconnected(server_side)
    await reconnected(client_side)

    # Consumers of the topic queue, the host queue and the fanout queue are all back.
    assert (await client.prepare(server="h1", timeout=WAIT).call(ctx(), "echo", value=2)) == {
        "value": 2, "server": "h1"}
    await client.prepare(server="h1").cast(ctx(), "record", value="cast")
    assert await next_item(one.received) == ("h1", "cast")
    await client.fanout(ctx(), "record", value="fanout")
    assert await next_item(one.received) == ("h1", "fanout")
    assert await next_item(two.received) == ("h2", "fanout")


async def test_reply_reaches_a_caller_whose_connection_dropped_while_waiting(amqp_bus: Bus) -> None:
    client_side = amqp_bus.connect()
    assert isinstance(client_side, AmqpTransport)
    endpoint = Endpoint("h1")
    await amqp_bus.server("widgets", "h1", endpoint)
    client = amqp_bus.client("widgets", transport=client_side)
    await client.call(ctx(), "echo", value=0)  # the reply queue exists
    call = asyncio.ensure_future(client.call(ctx(), "block", value="q", timeout=WAIT))
    await next_item(endpoint.started)
    await drop_connection(client_side)
    # The reply lands while the caller is away, or just after it is back: either way it waits
    # in the reply queue, which outlives the connection.
    endpoint.release.set()
    assert await call == "h1"
    await reconnected(client_side)


async def test_server_connection_drop_mid_handler_delivers_the_call_again(amqp_bus: Bus) -> None:
    server_side = amqp_bus.connect()
    assert isinstance(server_side, AmqpTransport)
    endpoint = Endpoint("h1")
    await amqp_bus.server("widgets", "h1", endpoint, transport=server_side)
    call = asyncio.ensure_future(
        amqp_bus.client("widgets").call(ctx(), "block", value="q", timeout=WAIT))
    assert await next_item(endpoint.started) == "q"
    await drop_connection(server_side)
    # Not acknowledged when the channel went: the restored consumer gets it again.
    assert await next_item(endpoint.started) == "q"
    endpoint.release.set()
    assert await call == "h1"
    received = [await next_item(endpoint.received) for _ in range(2)]
    assert received == [("h1", "q"), ("h1", "q")]  # at least once: handlers are idempotent


async def test_unreachable_broker_is_a_transport_error() -> None:
    transport = AmqpTransport("amqp://guest:guest@127.0.0.1:1/", connect_timeout=2)
    try:
        with pytest.raises(TransportError, match="cannot reach"):
            await RpcClient(transport, "widgets", timeout=5).call(ctx(), "echo", value=1)
    finally:
        await transport.aclose()

