"""The migrations build exactly the tables the code declares, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import app.models  # noqa: F401 - declares the service's tables
import matching.tables  # noqa: F401 - declares the signature index
from app.migrate import migrate
from matching.base import Base
from matching.tables import PARTITION
from tests.helpers.databases import Database


def _not_a_partition(name: str | None, kind: str, _parents: object) -> bool:
    return not (kind == "table" and name is not None and PARTITION.fullmatch(name))


def _differences(connection: Connection) -> list[object]:
    """What differs; the signature index's partitions (PostgreSQL) are storage, not model."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _not_a_partition}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_database_matches_the_models(database: Database) -> None:
    await migrate(database.url)
    engine = create_async_engine(database.url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
