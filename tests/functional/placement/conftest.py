"""Fixtures for placement's functional tests."""

from __future__ import annotations

import pytest

from tests.functional.conftest import Cloud
from tests.functional.placement.helpers import Placement


@pytest.fixture
async def placement(cloud: Cloud) -> Placement:
    return Placement(cloud, await cloud.token())
