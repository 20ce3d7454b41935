"""SQLite statements run on the event loop's thread; an engine's writers take turns on the loop,
and wait for other processes' locks on aiosqlite's thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.core import db, sqlite


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.sqlite'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def _holding(engine: AsyncEngine) -> AsyncConnection:
    """A connection in the middle of a writing transaction."""
    holder = await engine.connect()
    await holder.begin()
    await holder.execute(text("INSERT INTO t VALUES (0)"))
    return holder


async def _insert(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})


async def _rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT n FROM t ORDER BY rowid"))).scalars())


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


async def test_an_engines_writers_take_turns_in_arrival_order(engine: AsyncEngine) -> None:
    holder = await _holding(engine)
    waiting = []
    for n in (1, 2, 3):
        waiting.append(asyncio.create_task(_insert(engine, n)))
        await asyncio.sleep(0.05)  # each in line before the next comes
    assert not any(w.done() for w in waiting)

    await holder.commit()
    await holder.close()
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)

    assert await _rows(engine) == [0, 1, 2, 3]


async def test_a_writer_of_another_engine_waits_for_the_lock_on_its_thread(
        engine: AsyncEngine, tmp_path: Path) -> None:
    # Another engine on the same file stands for another process: no shared gate.
    other = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.sqlite'}")
    try:
        holder = await _holding(engine)
        waiting = asyncio.create_task(_insert(other, 1))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(waiting, timeout=10)
        assert await _rows(engine) == [0, 1]
    finally:
        await other.dispose()


async def test_a_writer_gives_up_after_the_lock_wait_and_the_gate_still_works(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "WAIT_MS", 200)
    holder = await _holding(engine)

    with pytest.raises(OperationalError, match="database is locked"):
        await _insert(engine, 1)
    await holder.commit()
    await holder.close()
    await asyncio.wait_for(_insert(engine, 2), timeout=5)

    assert await _rows(engine) == [0, 2]


async def test_a_cancelled_waiter_or_a_failed_write_does_not_keep_the_gate(
        engine: AsyncEngine) -> None:
    holder = await _holding(engine)
    cancelled = asyncio.create_task(_insert(engine, 1))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    await asyncio.wait([cancelled], timeout=5)  # it leaves the line while the gate is held
    await holder.commit()
    await holder.close()

    with pytest.raises(IntegrityError):  # 0 is taken: the transaction fails and rolls back
        await _insert(engine, 0)
    await asyncio.wait_for(_insert(engine, 2), timeout=5)

    assert cancelled.cancelled()
    assert await _rows(engine) == [0, 2]


async def test_commits_leave_the_log_alone_until_a_checkpoint_is_due(
        engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "gate.sqlite"
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE blobs (b BLOB)"))
    # The next commit is the second since the last checkpoint, the one after it the third.
    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 3)
    engine.sync_engine.dialect.dbapi._commits = 1  # type: ignore[attr-defined]
    before = file.stat().st_size
    blob = b"x" * 200_000

    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO blobs VALUES (:b)"), {"b": blob})
    after_one = file.stat().st_size
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO blobs VALUES (:b)"), {"b": blob})
    after_checkpoint = file.stat().st_size

    # A commit writes the log only; the due checkpoint copies both rows into the file.
    assert after_one == before
    assert after_checkpoint >= before + 2 * len(blob)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM blobs"))).scalar() == 2
