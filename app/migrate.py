"""`idcheck migrate`: Alembic, up to head (or up or down to a revision), on the configured
database."""

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def alembic_config(connection: Connection | None = None, partitions: int | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    if partitions is not None:  # read by revision 0012 (PostgreSQL)
        config.attributes["signature_partitions"] = partitions
    return config


def _move(connection: Connection, revision: str, partitions: int | None) -> None:
    """Up to ``revision``, or down to it when the database is past it."""
    config = alembic_config(connection, partitions)
    current = MigrationContext.configure(connection).get_current_revision()
    script = ScriptDirectory.from_config(config)
    below = (
        {step.revision for step in script.iterate_revisions(current, "base")} if current else set()
    )
    if revision != "head" and revision in below and revision != current:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def migrate(
    database_url: str,
    revision: str = "head",
    *,
    engine: AsyncEngine | None = None,
    partitions: int | None = None,
) -> None:
    """To ``revision`` (up or down), in one transaction (on ``engine`` when given: the
    service's, which knows a pooler's needs); ``partitions``: the signature index's, when
    revision 0012 runs (app/settings.py: signature_partitions)."""
    engine = engine or create_async_engine(database_url, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # a migration may rewrite a large table
                await connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            await connection.run_sync(lambda sync: _move(sync, revision, partitions))
    finally:
        await engine.dispose()
