"""The transport seam itself, under RpcServer: delivery and redelivery of raw messages."""

from __future__ import annotations

import asyncio
import logging

import pytest

from nimbus.core.rpc import Message, Reply, Target
from nimbus.core.rpc.message import Kind
from tests.contract.conftest import Bus
from tests.contract.endpoint import WAIT


def cast(topic: str, value: str) -> Message:
    return Message(kind=Kind.CAST, target=Target(topic), method="m", version="1.0",
                   args={"value": value}, context={})


async def test_a_handler_that_raises_gets_the_message_once_more_then_it_is_dropped(
        bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    bus.topics.add("raw")
    seen: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    async def handler(msg: Message) -> Reply | None:
        await seen.put((msg.args["value"], msg.redelivered))
        if msg.args["value"] != "fine":
            raise RuntimeError("dispatch bug")
        return None

    listener = await bus.connect().serve(Target("raw"), handler, prefetch=1)
    sender = bus.connect()
    try:
        with caplog.at_level(logging.ERROR, logger="nimbus.core.rpc"):
            await sender.send(cast("raw", "poison"), timeout=WAIT)
            await sender.send(cast("raw", "fine"), timeout=WAIT)
            got = [await asyncio.wait_for(seen.get(), WAIT) for _ in range(3)]
        assert got == [("poison", False), ("poison", True), ("fine", False)]
        assert [r.getMessage().rsplit("; ", 1)[1] for r in caplog.records
                if r.getMessage().startswith("handler crashed")] == [
            "delivering it again", "dropping it"]
    finally:
        await listener.stop(1)
    await bus.drain()
    assert seen.empty()
