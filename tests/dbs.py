"""Throw-away databases on the local servers, for tests that run on every backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_ADMIN = os.environ.get("NIMBUS_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
MARIADB_ADMIN = os.environ.get("NIMBUS_TEST_MARIADB", "mysql+asyncmy://root@127.0.0.1:3306")


def backends() -> list[str]:
    """Backends to run on: NIMBUS_TEST_BACKENDS=sqlite,postgresql,mariadb (all by default)."""
    wanted = os.environ.get("NIMBUS_TEST_BACKENDS", "sqlite,postgresql,mariadb")
    return [b.strip() for b in wanted.split(",") if b.strip()]


@asynccontextmanager
async def scratch_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A new empty database on `backend`; dropped afterwards. Yields its URL."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite'}"
        return
    name = f"nimbus_test_{uuid.uuid4().hex[:12]}"
    if backend == "postgresql":
        admin_url, url = f"{POSTGRES_ADMIN}/postgres", f"{POSTGRES_ADMIN}/{name}"
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    elif backend == "mariadb":
        admin_url, url = f"{MARIADB_ADMIN}/mysql", f"{MARIADB_ADMIN}/{name}?charset=utf8mb4"
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    else:
        raise ValueError(f"unknown backend {backend}")
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(create))
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(drop))
        await admin.dispose()
