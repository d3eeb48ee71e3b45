"""`idcheck migrate`: Alembic upgrade to head, on the configured database."""

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine


def _scripts() -> Path:
    """The migrations package's folder, found without importing it (its env.py imports app)."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the migrations package is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


SCRIPTS = _scripts()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


async def migrate(
    database_url: str, revision: str = "head", *, engine: AsyncEngine | None = None
) -> None:
    """Up to ``revision``, in one transaction (on ``engine`` when given: the service's, which
    knows a pooler's needs)."""
    engine = engine or create_async_engine(database_url, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # a migration may rewrite a large table
                await connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()
