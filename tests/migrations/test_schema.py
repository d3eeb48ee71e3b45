"""The migrations build exactly the tables the code declares, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import app.models  # noqa: F401 - declares the service's tables
import matching.tables  # noqa: F401 - declares the signature index
from app.migrate import migrate
from matching.base import Base
from tests.helpers.databases import Database


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_database_matches_the_models(database: Database) -> None:
    await migrate(database.url)
    engine = create_async_engine(database.url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
