"""Revision 0012 on a populated PostgreSQL database: the signature index down to one table (0011)
and up again into a chosen number of hash partitions, with every row kept and the same lookups;
each dataset's rows in one partition."""

import random
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrate import migrate
from matching import KeyRing
from matching import lookup
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import Database
from tests.helpers.index import new_holder

_SHAPE = sa.text(
    "SELECT c.relkind::text, (SELECT count(*) FROM pg_inherits WHERE inhparent = c.oid)"
    " FROM pg_class c WHERE c.relname = 'signature_index'"
)
_PER_PARTITION = sa.text(
    "SELECT tableoid::regclass::text, count(DISTINCT dataset_id), count(*)"
    " FROM signature_index GROUP BY 1"
)
_NOBODY = UUID(int=0)  # no sandbox holder here
_ROWS = sa.text("SELECT count(*), count(DISTINCT value) FROM signature_index")


async def _state(session: AsyncSession, values: list[bytes]) -> tuple[object, ...]:
    rows = (await session.execute(_ROWS)).one()
    hits = await lookup(session, values, date(2026, 12, 1), sandbox_holder=_NOBODY)
    return tuple(rows), {value: sorted(sources) for value, sources in hits.items()}


async def test_the_signature_index_goes_down_and_up_with_every_row(pg_database: Database) -> None:
    url = pg_database.url
    await migrate(url)
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    keyring = KeyRing(master=bytes.fromhex(MASTER_KEY), versions=(2,), current=2)
    rng = random.Random(12)
    try:
        async with sessions() as session:
            values: list[bytes] = []
            for n in range(6):  # six datasets, some people in several
                holder = await new_holder(session, keyring, f"holder {n}")
                for person in rng.sample(range(60), 40):
                    record = {"email": f"p{person}@part.example", "last_name": f"Nom{person}"}
                    indexed = await holder.hold(f"id-{person}", record)
                    values.extend(indexed.values.values())
            await session.commit()
            assert tuple((await session.execute(_SHAPE)).one()) == ("p", 8)  # the default
            before = await _state(session, values)
            assert before[0][0] == 6 * 40 * 2  # type: ignore[index]  # email, email_name
        await engine.dispose()

        await migrate(url, "0011")
        async with sessions() as session:
            assert tuple((await session.execute(_SHAPE)).one()) == ("r", 0)
            assert await _state(session, values) == before
        await engine.dispose()

        await migrate(url, partitions=4)
        async with sessions() as session:
            assert tuple((await session.execute(_SHAPE)).one()) == ("p", 4)
            assert await _state(session, values) == before
            layout = (await session.execute(_PER_PARTITION)).all()
            assert sum(datasets for _, datasets, _ in layout) == 6  # a dataset in one partition
            assert {name for name, _, _ in layout} <= {f"signature_index_p{n}" for n in range(4)}
        await engine.dispose()

        await migrate(url, "0011")
        await migrate(url, partitions=0)  # one plain table, by choice
        async with sessions() as session:
            assert tuple((await session.execute(_SHAPE)).one()) == ("r", 0)
            assert await _state(session, values) == before
    finally:
        await engine.dispose()


@pytest.mark.parametrize("revision", ["0011", "head"])
async def test_sqlite_is_not_partitioned(tmp_path: Path, revision: str) -> None:
    """On SQLite, 0012 changes nothing either way."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'idcheck.db'}"
    await migrate(url)
    await migrate(url, revision)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert "signature_index" in tables
        assert not [name for name in tables if name.startswith("signature_index_p")]
    finally:
        await engine.dispose()
