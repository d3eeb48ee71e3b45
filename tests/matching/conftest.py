"""matching/ on its own: a migrated database per backend and a session, no app, no HTTP."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrate import migrate
from matching import KeyRing
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import Database


@pytest.fixture
def keyring() -> KeyRing:
    """Two live signing-key versions, 2 current."""
    return KeyRing(master=bytes.fromhex(MASTER_KEY), versions=(1, 2), current=2)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    await migrate(database.url)
    engine = create_async_engine(database.url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            yield session
    finally:
        await engine.dispose()
