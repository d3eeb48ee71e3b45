"""Shared test fixtures: paths to the project's shared files, and one database per backend.

Every test that takes `database` runs once per backend: a real SQLite file, and a real PostgreSQL
database when IDCHECK_TEST_POSTGRES_URL is set (CI and `make test` set it). Each PostgreSQL test
makes its own database and drops it afterwards; if the server does not answer, the test fails, it
never skips.
"""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

# In CI, property tests and schemathesis draw the same examples every run: a red CI is a finding to
# reproduce, never a dice roll. At a desk, they explore new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

POSTGRES_URL = os.environ.get("IDCHECK_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
MASTER_KEY = "5e" + secrets.token_hex(31)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class Database:
    backend: str
    url: str  # SQLAlchemy URL
    path: Path | None = None  # the SQLite file
    name: str | None = None  # the PostgreSQL database


async def create_postgres_database() -> Database:
    """A new PostgreSQL database of its own; drop_postgres_database removes it."""
    name = f"idcheck_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return Database("postgresql", f"{base}/{name}", name=name)


async def drop_postgres_database(database: Database) -> None:
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[Database]:
    database = await create_postgres_database()
    try:
        yield database
    finally:
        await drop_postgres_database(database)


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "idcheck.db"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", path=path)
        return
    async with postgres_database() as database:
        yield database


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database per backend for a whole module (for tests that share a slow-to-start server)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "idcheck.db"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", path=path)
        return
    database = asyncio.run(create_postgres_database())
    try:
        yield database
    finally:
        asyncio.run(drop_postgres_database(database))


@pytest.fixture
async def pg_database() -> AsyncIterator[Database]:
    """PostgreSQL only (several workers): required in CI, where IDCHECK_TEST_POSTGRES_URL is set."""
    if not POSTGRES_URL:
        pytest.skip("IDCHECK_TEST_POSTGRES_URL is not set")
    async with postgres_database() as database:
        yield database
