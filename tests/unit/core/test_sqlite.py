"""SQLite statements run on the event loop's thread, and wait for locks on aiosqlite's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select, text

from nimbus.core import db


async def test_sqlite_write_waits_for_another_connections_lock_without_blocking_the_loop(
        tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'locks.sqlite'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holder = await engine.connect()
        await holder.begin()
        await holder.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock

        async def second_writer() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (2)"))

        waiting = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        # The second writer waits for the lock on its connection's thread, not on this one:
        # the loop still runs, so the holder can finish and let it through.
        assert not waiting.done()
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(waiting, timeout=10)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
        assert rows == [1, 2]
    finally:
        await engine.dispose()


async def test_sqlite_json_columns_round_trip_with_non_string_keys(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'json.sqlite'}")
    try:
        table = Table("j", MetaData(), Column("id", Integer, primary_key=True),
                      Column("doc", JSON))
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(id=1, doc={"a": [1, "é"], 2: None}))
        async with engine.connect() as conn:
            doc = (await conn.execute(select(table.c.doc))).scalar()
        # As the standard library's json: keys become strings, text survives.
        assert doc == {"a": [1, "é"], "2": None}
    finally:
        await engine.dispose()
