"""The RPC contract, on every transport: what RpcClient and RpcServer promise each other."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from nimbus.core.context import global_request_id_var, request_id_var
from nimbus.core.logs import RequestIdFilter
from nimbus.core.rpc import (
    NoSuchMethod,
    RemoteError,
    RpcTimeout,
    SerializationError,
    UnsupportedVersion,
)
from tests.contract.conftest import Bus
from tests.contract.endpoint import LOG, WAIT, Endpoint, WidgetJammed, WidgetNotFound, ctx, next_item


async def test_call_returns_the_handler_result(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    client = bus.client("widgets")
    assert await client.call(ctx(), "echo", value={"a": [1, "two", None]}) == {
        "value": {"a": [1, "two", None]}, "server": "h1"}


async def test_cast_runs_once_on_one_of_the_servers(bus: Bus) -> None:
    one, two = Endpoint("h1"), Endpoint("h2")
    await bus.server("widgets", "h1", one)
    await bus.server("widgets", "h2", two)
    client = bus.client("widgets")
    for i in range(10):
        await client.cast(ctx(), "record", value=i)
    got = [await next_item(q) for q in _merged(one, two, 10)]
    assert sorted(v for _, v in got) == list(range(10))
    await bus.drain()
    assert one.received.empty() and two.received.empty()


def _merged(one: Endpoint, two: Endpoint, count: int) -> list[asyncio.Queue[Any]]:
    """A queue that gets what both endpoints receive, repeated `count` times for next_item."""
    merged: asyncio.Queue[Any] = asyncio.Queue()

    async def pump(src: asyncio.Queue[Any]) -> None:
        while True:
            await merged.put(await src.get())

    for endpoint in (one, two):
        task = asyncio.get_running_loop().create_task(pump(endpoint.received))
        _PUMPS.add(task)
        task.add_done_callback(_PUMPS.discard)
    return [merged] * count


_PUMPS: set[asyncio.Task[None]] = set()


async def test_prepare_server_targets_that_host_only(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    await bus.server("widgets", "h2", Endpoint("h2"))
    client = bus.client("widgets").prepare(server="h2")
    for _ in range(5):
        assert (await client.call(ctx(), "echo", value=1))["server"] == "h2"


async def test_fanout_reaches_every_server_once(bus: Bus) -> None:
    one, two = Endpoint("h1"), Endpoint("h2")
    await bus.server("widgets", "h1", one)
    await bus.server("widgets", "h2", two)
    await bus.client("widgets").fanout(ctx(), "record", value="hello")
    assert await next_item(one.received) == ("h1", "hello")
    assert await next_item(two.received) == ("h2", "hello")
    await bus.drain()
    assert one.received.empty() and two.received.empty()


async def test_cast_sent_before_any_server_waits_for_one(bus: Bus) -> None:
    await bus.client("widgets").cast(ctx(), "record", value="early")
    endpoint = Endpoint("h1")
    await bus.server("widgets", "h1", endpoint)
    assert await next_item(endpoint.received) == ("h1", "early")


async def test_call_without_reply_raises_rpc_timeout(bus: Bus) -> None:
    endpoint = Endpoint("h1")
    await bus.server("widgets", "h1", endpoint)
    client = bus.client("widgets", timeout=0.3)
    with pytest.raises(RpcTimeout) as raised:
        await client.call(ctx(), "block", value=1)
    assert "block" in str(raised.value) and "0.3" in str(raised.value)
    with pytest.raises(RpcTimeout):
        await bus.client("nobody-serves-this").call(ctx(), "echo", timeout=0.2, value=1)
    endpoint.release.set()


async def test_declared_error_is_raised_again_as_its_class(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    client = bus.client("widgets")
    with pytest.raises(WidgetNotFound) as raised:
        await client.call(ctx(), "lose_widget", widget_id="w-42")
    assert str(raised.value) == "Widget w-42 could not be found."
    assert raised.value.params == {"widget_id": "w-42"}
    assert raised.value.status == 404
    with pytest.raises(WidgetJammed) as jammed:
        await client.call(ctx(), "jam_widget")
    assert jammed.value.args == ("gears stuck", 3)


async def test_undeclared_error_arrives_as_remote_error_and_is_logged_with_traceback(
        bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    with caplog.at_level(logging.INFO, logger="nimbus"), pytest.raises(RemoteError) as raised:
        await bus.client("widgets").call(ctx(), "crash")
    assert raised.value.exc_type == "builtins.KeyError"
    assert raised.value.value == "'internal detail'"
    logged = [r for r in caplog.records if r.name == "nimbus.core.rpc.server" and r.exc_info]
    assert logged and logged[0].exc_info is not None and logged[0].exc_info[0] is KeyError


async def test_context_and_request_ids_travel_and_are_bound_on_the_server(
        bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    endpoint = Endpoint("h1")
    await bus.server("widgets", "h1", endpoint)
    client = bus.client("widgets")
    caplog.handler.addFilter(RequestIdFilter())
    request_id_var.set("req-aaaaaaaa-0000-0000-0000-000000000000")
    global_request_id_var.set("req-bbbbbbbb-0000-0000-0000-000000000000")
    expected = {"user_id": "u1", "project_id": "p1", "roles": ["member"],
                "ctx_request_id": "req-11111111-1111-1111-1111-111111111111",
                "request_id": "req-aaaaaaaa-0000-0000-0000-000000000000",
                "global_request_id": "req-bbbbbbbb-0000-0000-0000-000000000000"}
    with caplog.at_level(logging.INFO, logger="nimbus.test"):
        assert await client.call(ctx(), "whoami") == expected
        await client.cast(ctx(), "whoami")
        assert await next_item(endpoint.received) == ("h1", expected)  # the call
        assert await next_item(endpoint.received) == ("h1", expected)  # the cast
    lines = [r for r in caplog.records if r.name == LOG.name]
    assert len(lines) == 2
    for record in lines:
        assert record.request_id == "req-aaaaaaaa-0000-0000-0000-000000000000"  # type: ignore[attr-defined]
        assert record.global_request_id == "req-bbbbbbbb-0000-0000-0000-000000000000"  # type: ignore[attr-defined]


async def test_context_ids_travel_when_none_are_bound(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    request_id_var.set(None)
    global_request_id_var.set(None)
    ids = await bus.client("widgets").call(ctx(), "whoami")
    assert ids["request_id"] == "req-11111111-1111-1111-1111-111111111111"
    assert ids["global_request_id"] == "req-99999999-9999-9999-9999-999999999999"


async def test_the_token_never_travels(bus: Bus) -> None:
    seen: list[bytes] = []
    transport = bus.connect()
    original = transport.send

    async def spy(msg: Any, *, timeout: float) -> Any:
        seen.append(msg.encode())
        return await original(msg, timeout=timeout)

    transport.send = spy  # type: ignore[method-assign]
    await bus.server("widgets", "h1", Endpoint("h1"))
    await bus.client("widgets", transport=transport).call(ctx(), "whoami")
    assert seen and all(b"secret-token" not in body for body in seen)


async def test_version_major_must_match_and_minor_not_exceed_the_server(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"), version="1.3")
    for version in ("1.0", "1.3"):
        client = bus.client("widgets", version=version)
        assert (await client.call(ctx(), "echo", value=version))["value"] == version
    for version in ("1.4", "2.0", "0.9"):
        with pytest.raises(UnsupportedVersion) as raised:
            await bus.client("widgets").prepare(version=version).call(ctx(), "echo", value=1)
        assert f"version {version}" in str(raised.value) and "1.3" in str(raised.value)


async def test_only_public_async_methods_are_callable(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    client = bus.client("widgets")
    for method in ("_private", "not_async", "no_such_thing", "__init__"):
        with pytest.raises(NoSuchMethod):
            await client.call(ctx(), method)


async def test_unserializable_payloads_fail_on_both_sides(bus: Bus) -> None:
    await bus.server("widgets", "h1", Endpoint("h1"))
    client = bus.client("widgets")
    with pytest.raises(SerializationError):
        await client.call(ctx(), "echo", value={1, 2})
    with pytest.raises(SerializationError):
        await client.cast(ctx(), "record", value={1: "int keys"})
    with pytest.raises(SerializationError):
        await client.call(ctx(), "bad_result")


async def test_failed_cast_is_logged_acknowledged_and_not_delivered_again(
        bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    endpoint = Endpoint("h1")
    await bus.server("widgets", "h1", endpoint, prefetch=1)
    client = bus.client("widgets")
    with caplog.at_level(logging.ERROR, logger="nimbus.core.rpc"):
        await client.cast(ctx(), "crash")
        await client.cast(ctx(), "record", value="after")
        # prefetch=1: the next message comes only once the failed one was settled.
        assert await next_item(endpoint.received) == ("h1", "after")
    await bus.drain()
    assert endpoint.failures == 1
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


async def test_prefetch_bounds_concurrent_handlers(bus: Bus) -> None:
    endpoint = Endpoint("h1")
    await bus.server("widgets", "h1", endpoint, prefetch=2)
    client = bus.client("widgets")
    for i in range(5):
        await client.cast(ctx(), "block", value=i)
    await next_item(endpoint.started)
    await next_item(endpoint.started)
    await asyncio.sleep(0.2)  # give a third message the chance it must not get
    assert endpoint.started.empty() and endpoint.running == 2
    endpoint.release.set()
    assert sorted([(await next_item(endpoint.received))[1] for _ in range(5)]) == list(range(5))
    assert endpoint.max_running == 2


async def test_consumer_killed_mid_cast_gets_it_delivered_again(bus: Bus) -> None:
    doomed, survivor = Endpoint("h1"), Endpoint("h2")
    doomed_transport = bus.connect()
    await bus.server("widgets", "h1", doomed, transport=doomed_transport)
    await bus.client("widgets").cast(ctx(), "block", value="precious")
    assert await next_item(doomed.started) == "precious"
    await doomed_transport.aclose()  # dies before its handler acknowledged the message
    survivor.release.set()
    await bus.server("widgets", "h2", survivor)
    assert await next_item(survivor.received) == ("h2", "precious")
    assert doomed.received.empty()


async def test_consumer_killed_mid_call_lets_another_server_answer(bus: Bus) -> None:
    doomed, survivor = Endpoint("h1"), Endpoint("h2")
    doomed_transport = bus.connect()
    await bus.server("widgets", "h1", doomed, transport=doomed_transport)
    call = asyncio.ensure_future(bus.client("widgets").call(ctx(), "block", value="q", timeout=WAIT))
    assert await next_item(doomed.started) == "q"
    await doomed_transport.aclose()
    survivor.release.set()
    await bus.server("widgets", "h2", survivor)
    assert await call == "h2"


async def test_graceful_stop_lets_running_handlers_finish_and_takes_nothing_new(bus: Bus) -> None:
    first, second = Endpoint("h1"), Endpoint("h2")
    server = await bus.server("widgets", "h1", first)
    client = bus.client("widgets")
    call = asyncio.ensure_future(client.call(ctx(), "block", value="running", timeout=WAIT))
    await next_item(first.started)
    stopping = asyncio.ensure_future(server.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waiting for the running handler
    await client.cast(ctx(), "record", value="later")
    first.release.set()
    assert await call == "h1"
    await asyncio.wait_for(stopping, WAIT)
    await bus.server("widgets", "h2", second)
    assert await next_item(second.received) == ("h2", "later")
    assert first.received.get_nowait() == ("h1", "running") and first.received.empty()


async def test_stop_timeout_cancels_handlers_and_their_messages_come_back(bus: Bus) -> None:
    stuck, next_one = Endpoint("h1"), Endpoint("h2")
    server = await bus.server("widgets", "h1", stuck, stop_timeout=0.1)
    await bus.client("widgets").cast(ctx(), "block", value="again")
    await next_item(stuck.started)
    await asyncio.wait_for(server.stop(), WAIT)
    next_one.release.set()
    await bus.server("widgets", "h2", next_one)
    assert await next_item(next_one.received) == ("h2", "again")
