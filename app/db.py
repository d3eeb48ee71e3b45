"""Engines and sessions: made in the lifespan, never at import."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine that never logs SQL parameters (they are index values, but none belong in logs)."""
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url, hide_parameters=True, connect_args={"timeout": 30}
        )
        _sqlite_serialised_writes(engine)
        return engine
    return create_async_engine(
        settings.database_url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
    )


def _sqlite_serialised_writes(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE: SQLite's writers wait for each other, never fail.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits BEGIN itself
    (the recipe of SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
