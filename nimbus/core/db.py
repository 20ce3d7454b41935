"""Database access: async engines and sessions, and Alembic migrations per service.

Every service owns its tables, its own declarative base and its own Alembic history
(version table `alembic_version_<service>`), so services migrate independently when they
run on different machines and share one database only by accident of deployment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from nimbus.core import errors, sqlite

LOG = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SessionFactory = async_sessionmaker[AsyncSession]


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Naive UTC, so that SQLite, PostgreSQL and MariaDB all store the same value."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _json_text(value: Any) -> str:
    # Keys that are not strings become strings, as the standard library's json.dumps does.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    # JSON columns (an instance's flavor, system metadata, network info, request spec) are
    # read on every server shown or listed: orjson reads and writes them several times faster.
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_text,
                              "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        kwargs.update(connect_args=sqlite.CONNECT_ARGS, module=sqlite.dbapi(), **sqlite.POOL_ARGS)
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers proceed while one writer writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Commits run on the event loop's thread and must not checkpoint: sqlite.py does that on
    # the connection's own thread.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA foreign_keys=ON")
    # No waiting for locks on the event loop's thread: sqlite.py waits on the connection's own.
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on any error.

    Integrity errors become `errors.Conflict`, so a duplicate never reaches a client as a 500;
    so does a transaction the database chose to abort for a lock race (deadlock,
    serialization failure, lock wait timeout): nothing of it was written, and a retry may pass.
    """
    async with factory() as session:
        try:
            async with session.begin():
                yield session
        except IntegrityError as exc:
            LOG.info("integrity error: %s", exc.orig)
            raise errors.Conflict("The resource conflicts with an existing one.") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise errors.ServiceUnavailable("The database connection was lost.") from exc
            if lost_lock_race(exc):
                LOG.info("transaction aborted by the database: %s", exc.orig)
                raise errors.Conflict("The request raced with another one; retry it.") from exc
            raise


# SQLSTATEs of deadlock (PostgreSQL 40P01; MariaDB reports 1213 as 40001) and serialization
# failure, and MariaDB's error numbers for deadlock and lock wait timeout.
_LOCK_RACE_STATES = {"40P01", "40001"}
_LOCK_RACE_ERRNOS = {1213, 1205}


def lost_lock_race(exc: DBAPIError) -> bool:
    orig = exc.orig
    args = getattr(orig, "args", ())
    return getattr(orig, "sqlstate", None) in _LOCK_RACE_STATES or \
        bool(args and args[0] in _LOCK_RACE_ERRNOS)


def _alembic_config(url: str, script_location: Path, service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = f"alembic_version_{service}"
    return cfg


def run_migrations_online(connection: Connection, metadata: MetaData, version_table: str) -> None:
    """Called from a service's Alembic env.py with a sync connection."""
    from alembic import context as alembic_context

    def own_tables_only(name: str | None, type_: str, _parent: object) -> bool:
        # Services may share one database; a service must never see another's tables.
        return type_ != "table" or name in metadata.tables

    alembic_context.configure(
        connection=connection, target_metadata=metadata, version_table=version_table,
        render_as_batch=True, include_name=own_tables_only)
    with alembic_context.begin_transaction():
        alembic_context.run_migrations()


def env_main(metadata: MetaData) -> None:
    """The body of every service's Alembic env.py: migrate on the given connection."""
    from alembic import context as alembic_context

    cfg = alembic_context.config
    connection = cfg.attributes["connection"]
    run_migrations_online(connection, metadata, cfg.attributes["version_table"])


async def migrate(engine: AsyncEngine, script_location: Path, service: str,
                  revision: str = "head") -> None:
    """Bring one service's tables to `revision`, the newest by default (idempotent)."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False),
                          script_location, service)

    def upgrade(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
    LOG.info("database migrated for %s", service)


def migrate_sync(url: str, script_location: Path, service: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            await migrate(engine, script_location, service)
        finally:
            await engine.dispose()

    asyncio.run(run())
