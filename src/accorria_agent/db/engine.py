"""Async engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if not database or database == ":memory:":
            engine = create_async_engine(url, poolclass=NullPool)
        else:
            # One connection for the whole process: SQLite has one writer at a time anyway, and
            # queueing for the connection in asyncio is far cheaper than SQLite's busy-wait sleeps
            # when several coroutines' transactions contend for the file lock.
            engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        _configure_sqlite(engine)
        return engine
    # No pool_pre_ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) per checkout,
    # more than a turn's reads. Disconnects are handled optimistically instead: the statement that meets
    # a dead connection fails (the webhook answers 503 and Meta redelivers; the job is retried) and
    # SQLAlchemy then invalidates every older pooled connection, so one failure per process follows a
    # database restart (tests/faults restarts PostgreSQL under load). Recycling bounds a connection's age
    # below common server and proxy idle timeouts.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


def _configure_sqlite(async_engine: AsyncEngine) -> None:
    engine = async_engine.sync_engine

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at BEGIN: with several connections on one file, a deferred transaction
        # that reads and then writes fails at once (SQLITE_BUSY) if another one committed in between;
        # an immediate one waits politely under busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (above); the driver must not start transactions of its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run while the single writer commits. FULL fsyncs the WAL at every commit,
        # so an acknowledged webhook survives a power cut too; group commit keeps that affordable.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (the boundary commits, then reads)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The unit of work of a request or job: commit on success, roll back on any error."""
    async with factory() as session, session.begin():
        yield session


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether this engine is the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"
