"""Volume tests run the cloud with two file-backend volume hosts: on every database over the
memory bus, and on SQLite over RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.functional.conftest import Cloud, cloud_variants, running_cloud

HOSTS = 2


@pytest.fixture(params=cloud_variants())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    backend, bus = request.param
    async with running_cloud(backend, tmp_path, volume_hosts=HOSTS, bus=bus) as running:
        yield running
