"""SQLite under asyncio, run on the event loop's thread unless a lock must be waited for.

    engine = create_async_engine("sqlite+aiosqlite:///state.db", module=sqlite.dbapi(),
                                 connect_args=sqlite.CONNECT_ARGS)

SQLAlchemy's aiosqlite adapter makes four trips to the connection's thread per query (open a
cursor, execute, fetch, close), each a hand-over of the GIL, two thread wake-ups and a wake-up
of the event loop; that was most of the CPU an instance boot cost. A statement on a local
SQLite file takes microseconds, far less than one such trip, so here the cursor runs the whole
statement (execute, fetch, close) at once on the calling thread, and rollbacks too. What may
wait goes to aiosqlite's thread: commits (a commit may checkpoint the WAL and sync the file),
and statements that meet another connection's lock: connections never wait for a lock
(busy timeout 0), so a statement that finds the database locked by another connection
(SQLITE_BUSY) is run again on the thread, there with the usual busy timeout. The event loop is
never blocked by a lock wait, and nothing else changes: same dialect, same SQL, same errors.
Each connection is used by one coroutine at a time, so the two threads never share it at once.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_T = TypeVar("_T")
_Outcome = tuple[Any, list[Any], int, int | None]

# The connection is made on aiosqlite's thread and used on the loop's as well (never at once).
CONNECT_ARGS: dict[str, Any] = {"check_same_thread": False, "timeout": 0}
# How long a statement run on aiosqlite's thread waits for another connection's lock.
WAIT_MS = 30_000


def _busy(error: BaseException) -> bool:
    """The database is locked by another connection: worth waiting for on the thread."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code is not None and \
        code & 0xFF == sqlite3.SQLITE_BUSY


def _waiting(conn: sqlite3.Connection, work: Callable[[], _T]) -> _T:
    """On the connection's thread: `work` with the busy timeout on, then off again."""
    conn.execute(f"PRAGMA busy_timeout={WAIT_MS}")
    try:
        return work()
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the whole statement, cursor closed before returning."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters if parameters is not None else ())
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No sqlite3 cursor is opened here: each statement opens and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None  # already closed on the thread

    def close(self) -> None:
        self._rows.clear()

    def _one_trip(self, operation: Any, parameters: Any, many: bool) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            outcome = _run_here_or_wait(connection, partial(
                _run, connection._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._one_trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._one_trip(operation, seq_of_parameters, many=True)


async def _here_or_waiting(connection: aiosqlite.Connection, work: Callable[[], _T]) -> _T:
    """`work` on this thread; again on the connection's thread, waiting, if it met a lock."""
    try:
        return work()
    except sqlite3.OperationalError as error:
        if not _busy(error):
            raise
    # aiosqlite's own way of running a function on its thread (pinned version).
    done: _T = await connection._execute(  # type: ignore[no-untyped-call]
        _waiting, connection._conn, work)
    return done


def _run_here_or_wait(connection: aiosqlite.Connection, work: Callable[[], _T]) -> _T:
    # Through await_ even when nothing waits: SQLAlchemy's async layer checks that each
    # statement went through the event loop's side (AwaitRequired otherwise).
    return await_(_here_or_waiting(connection, work))


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = _Cursor

    def _end(self, how: str) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        # Read-only use never opened a transaction (sqlite3 begins one before the first
        # write): nothing to end.
        if connection._connection is None or not connection.in_transaction:
            return
        try:
            _run_here_or_wait(connection, getattr(connection._conn, how))
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        # On the connection's thread, waiting: a commit may checkpoint the WAL into the
        # database file and sync it, disk work the event loop must not wait for.
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        if connection._connection is None or not connection.in_transaction:
            return
        try:
            await_(connection._execute(  # type: ignore[no-untyped-call]
                _waiting, connection._conn, connection._conn.commit))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        self._end("rollback")


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module to give create_async_engine for `sqlite+aiosqlite` URLs."""
    return _Dbapi(aiosqlite, sqlite3)
