"""SQLite under asyncio, run on the event loop's thread unless a lock must be waited for.

    engine = create_async_engine("sqlite+aiosqlite:///state.db", module=sqlite.dbapi(),
                                 connect_args=sqlite.CONNECT_ARGS)

SQLAlchemy's aiosqlite adapter makes four trips to the connection's thread per query (open a
cursor, execute, fetch, close), each a hand-over of the GIL, two thread wake-ups and a wake-up
of the event loop; that was most of the CPU an instance boot cost. A statement on a local
SQLite file takes microseconds, far less than one such trip, so here the cursor runs the whole
statement (execute, fetch, close) at once on the calling thread, and commits and rollbacks
too: in WAL mode with synchronous=NORMAL a commit appends to the log and syncs nothing (but
the log's header, once after a checkpoint, when the log starts over). What
may wait goes to aiosqlite's thread: checkpoints, which copy the log into the database file and
sync it (no connection checkpoints on commit, `wal_autocheckpoint=0`; every CHECKPOINT_EVERY
commits the committing connection runs one on its thread), and statements that meet another
process's lock: connections never wait for a lock (busy timeout 0), so a statement that finds
the database locked (SQLITE_BUSY) is run again on the thread, there with the usual busy
timeout. The event loop is never blocked by a lock wait or a sync, and nothing else changes:
same dialect, same SQL, same errors. Each connection is used by one coroutine at a time, so
the two threads never share it at once.

SQLite lets one connection write at a time. Left to itself, a writer that finds another
connection writing polls for the lock with sleeps of up to 100 ms, and newcomers overtake it:
under load some boots waited seconds. So a connection of this process takes the engine's
`_WriteGate` before it starts to write (first come, first served, on the event loop) and gives
it back when its transaction ends; only writers in other processes still meet a locked file.
"""

from __future__ import annotations

import asyncio
import collections
import logging
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

from nimbus.core.tasks import wake_first

LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
_Outcome = tuple[Any, list[Any], int, int | None]

# The connection is made on aiosqlite's thread and used on the loop's as well (never at once).
CONNECT_ARGS: dict[str, Any] = {"check_same_thread": False, "timeout": 0}
# The all-in-one's services share one engine: a pool that keeps as many connections as
# requests commonly in flight at once (SQLAlchemy's default keeps 5) saves opening one for
# each burst, a new aiosqlite thread and pragmas of which journal_mode takes a lock (about
# 1 ms each; at 20 boots in flight the default pool opened one for two boots in three).
POOL_ARGS: dict[str, Any] = {"pool_size": 20, "max_overflow": 20}
# How long a statement run on aiosqlite's thread waits for another connection's lock.
WAIT_MS = 30_000


class _WriteGate:
    """One writing transaction at a time among an engine's connections, in arrival order.

    Held from a transaction's first write until it ends, as SQLite's own write lock is; a
    writer waits on the event loop for its turn instead of polling the file. After WAIT_MS it
    gives up with the error a lock wait would end in ("database is locked")."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def enter(self) -> None:
        """From a statement (inside SQLAlchemy's greenlet): returns holding the gate."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an engine outliving its event loop (tests) starts afresh
            self._held, self._waiters, self._loop = False, collections.deque(), loop
        if not self._held:
            self._held = True
            return
        await_(self._turn(loop))

    async def _turn(self, loop: asyncio.AbstractEventLoop) -> None:
        turn: asyncio.Future[None] = loop.create_future()
        self._waiters.append(turn)
        timer = loop.call_later(WAIT_MS / 1000, _give_up, turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave()  # handed the gate just as the waiter was cancelled: pass it on
            raise
        finally:
            timer.cancel()

    def leave(self) -> None:
        """Hands the gate to the longest waiter still waiting, or frees it."""
        if not wake_first(self._waiters):
            self._held = False


def _give_up(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_exception(sqlite3.OperationalError("database is locked"))


# The statements sqlite3 opens a transaction for and that take SQLite's write lock.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writes(operation: str) -> bool:
    return operation.lstrip()[:7].upper().startswith(_WRITES)


# Commits between two checkpoints of the write-ahead log (SQLite's own default is 1000 pages,
# about 4 MB; a commit here writes a few pages).
CHECKPOINT_EVERY = 200


def _checkpoint(conn: sqlite3.Connection) -> None:
    """On the connection's thread: copy what it can of the log into the database file,
    without waiting for readers or writers (PASSIVE, as SQLite's automatic checkpoint)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


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
        adapted: _Connection = self._adapt_connection  # type: ignore[assignment]
        try:
            if _writes(operation):
                adapted.hold_write_gate()
            outcome = _run_here_or_wait(connection, partial(
                _run, connection._conn, operation, parameters, many))
        except Exception as error:
            adapted._handle_exception(error)
        finally:
            adapted.release_write_gate_if_done()
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
    __slots__ = ("_holds_gate",)
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = _Cursor
    dbapi: _Dbapi

    def __init__(self, dbapi: _Dbapi, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._holds_gate = False

    def hold_write_gate(self) -> None:
        if not self._holds_gate:
            self.dbapi.write_gate.enter()
            self._holds_gate = True

    def release_write_gate_if_done(self) -> None:
        """After a statement, commit or rollback: the gate goes once no transaction is open
        (a write that failed before beginning one, or the transaction's end)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        if connection._connection is None or not connection.in_transaction:
            self._release_write_gate()

    def _release_write_gate(self) -> None:
        if self._holds_gate:
            self._holds_gate = False
            self.dbapi.write_gate.leave()

    def _end(self, how: str) -> bool:
        """Commits or rolls back here; False when no transaction was open (read-only use
        never opens one: sqlite3 begins one before the first write)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            if connection._connection is None or not connection.in_transaction:
                return False
            _run_here_or_wait(connection, getattr(connection._conn, how))
        except Exception as error:
            self._handle_exception(error)
        finally:
            self.release_write_gate_if_done()
        return True

    def commit(self) -> None:
        # Here, as a rollback: in WAL mode with synchronous=NORMAL a commit appends to the log
        # and syncs (nearly) nothing, and no connection checkpoints on commit
        # (wal_autocheckpoint=0). The checkpoint, which copies the log into the database file
        # and syncs it, runs on the connection's thread every CHECKPOINT_EVERY commits, after
        # the gate is passed on.
        if not self._end("commit") or not self.dbapi.checkpoint_due():
            return
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            await_(connection._execute(  # type: ignore[no-untyped-call]
                _checkpoint, connection._conn))
        except Exception:  # the commit stands; the next checkpoint copies this one's part
            LOG.warning("checkpoint of the SQLite write-ahead log failed", exc_info=True)

    def rollback(self) -> None:
        self._end("rollback")

    # A closed connection's transaction is gone with it.
    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_write_gate()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self._release_write_gate()


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite_module: Any, sqlite_module: Any) -> None:
        super().__init__(aiosqlite_module, sqlite_module)
        # One per engine (make_engine gives each its own dbapi()): its connections' writers.
        self.write_gate = _WriteGate()
        self._commits = 0

    def checkpoint_due(self) -> bool:
        self._commits += 1
        return self._commits % CHECKPOINT_EVERY == 0

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module to give create_async_engine for `sqlite+aiosqlite` URLs."""
    return _Dbapi(aiosqlite, sqlite3)
