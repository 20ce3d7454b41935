"""Volume tests run the cloud with two file-backend volume hosts: on every database over the
memory bus, and on SQLite over RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dbs import backends
from tests.functional.conftest import Cloud, buses, running_cloud

HOSTS = 2


def _variants() -> list[object]:
    found: list[object] = [pytest.param((b, "memory"), id=b) for b in backends()]
    if "amqp" in buses():
        found.append(pytest.param(("sqlite", "amqp"), id="sqlite-rabbitmq",
                                  marks=pytest.mark.rabbitmq))
    return found


@pytest.fixture(params=_variants())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend, bus = request.param
    async with running_cloud(backend, tmp_path, volume_hosts=HOSTS, bus=bus) as running:
        yield running
