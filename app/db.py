"""Engines and sessions: made in the lifespan, never at import.

Two session makers share one engine: a writer's and a reader's. On SQLite the writer's
transactions start with BEGIN IMMEDIATE (writers queue for the one write lock instead of failing
half-way) and the reader's with a plain BEGIN (in WAL mode a reader never waits for a writer). A
request takes the writer's only for its work, after its key is checked and its body read, so that
no client holds the write lock while it sends (or fails to send) its body. On PostgreSQL both are
the same; every session carries statement, lock and idle-in-transaction timeouts.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from typing import Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from app.errors import StoreUnavailable
from app.settings import Settings
from matching import on_postgresql

_WRITES: Final = "idcheck_writes"
#: How long a SQLite writer waits for the write lock (its busy timeout, and the worker's queue).
SQLITE_WRITE_WAIT: Final = 30


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def create_engine(
    settings: Settings, url: str | None = None, *, connect_timeout: float = 10
) -> AsyncEngine:
    """An engine that never logs SQL parameters (they are index values, but none belong in logs):
    of the database, or of ``url`` (a replica's)."""
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url, hide_parameters=True, connect_args={"timeout": SQLITE_WRITE_WAIT}
        )
        _sqlite_transactions(engine)
        return engine
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if settings.database_transaction_pooling:
        connect_args.update(_POOLED)
        url = _without_statement_cache(url or settings.database_url)
    else:
        connect_args["server_settings"] = {
            "statement_timeout": str(_milliseconds(settings.statement_timeout)),
            "lock_timeout": str(_milliseconds(settings.lock_timeout)),
            "idle_in_transaction_session_timeout": str(
                _milliseconds(settings.idle_in_transaction_timeout)
            ),
        }
    return create_async_engine(
        url or settings.database_url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # No ping before each checkout (a round trip per request, on every request): a connection
        # found dead fails its request with 503 (app.store) and SQLAlchemy then invalidates the
        # pool's older connections, so one failed request per worker follows a lost server.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args=connect_args,
    )


#: Behind a pooler in transaction mode, a server connection serves one transaction, then another
#: client: asyncpg keeps no prepared statement (statement_cache_size=0), and SQLAlchemy's, named
#: afresh each time, are not kept either (prepared_statement_cache_size=0 in the URL), so that
#: no name is ever looked for, or taken twice, on a connection that does not have it (SQLAlchemy's
#: asyncpg dialect documentation, "Prepared Statement Name with PGBouncer").
_POOLED: Final[dict[str, Any]] = {
    "statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__idcheck_{uuid.uuid4().hex}__",
}


def _without_statement_cache(url: str) -> str:
    parsed = sa.engine.make_url(url)
    return parsed.update_query_dict({"prepared_statement_cache_size": "0"}).render_as_string(
        hide_password=False
    )


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """WAL, foreign keys; BEGIN IMMEDIATE for the writer's sessions, BEGIN for the reader's.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits BEGIN itself
    (the recipe of SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_WRITE_WAIT * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(_WRITES, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def create_sessionmaker(
    engine: AsyncEngine, *, writes: bool = True
) -> async_sessionmaker[AsyncSession]:
    bind = engine if writes else engine.execution_options(**{_WRITES: False})
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


def create_single_read_sessionmaker(
    engine: AsyncEngine, settings: Settings
) -> async_sessionmaker[AsyncSession]:
    """Sessions for one read statement (the caller's key, a replica's lookup): on PostgreSQL in
    autocommit, since a single statement is its own transaction, which spares the BEGIN and
    ROLLBACK round trips around it; on SQLite, the reader's sessions."""
    if engine.dialect.name != "postgresql" or settings.database_transaction_pooling:
        # Behind a pooler a statement outside a transaction could be prepared on one server
        # connection and run on another.
        return create_sessionmaker(engine, writes=False)
    bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


async def allow_long_statements(session: AsyncSession, settings: Settings) -> None:
    """For the rest of this transaction, statements may run upload_statement_timeout (PG only)."""
    if on_postgresql(session):
        milliseconds = _milliseconds(settings.upload_statement_timeout)
        await session.execute(sa.text(f"SET LOCAL statement_timeout = {milliseconds}"))


@asynccontextmanager
async def write_turn(lock: asyncio.Lock | None) -> AsyncIterator[None]:
    """The worker's turn at SQLite's one write lock (``lock`` is None on PostgreSQL): writers
    queue for it in order, SQLITE_WRITE_WAIT seconds at most, then 503 (nothing was done)."""
    if lock is None:
        yield
        return
    try:
        await asyncio.wait_for(lock.acquire(), SQLITE_WRITE_WAIT)
    except TimeoutError:
        raise StoreUnavailable() from None
    try:
        yield
    finally:
        lock.release()
