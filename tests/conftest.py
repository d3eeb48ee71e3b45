"""Shared test fixtures: paths to the project's shared files, and one database per backend.

Every test that takes `database` runs once per backend: a real SQLite file, and a real PostgreSQL
database when IDCHECK_TEST_POSTGRES_URL is set (CI and `make test` set it). Each PostgreSQL test
makes its own database and drops it afterwards; if the server does not answer, the test fails, it
never skips.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers.databases import BACKENDS
from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database
from tests.helpers.databases import create_postgres_database
from tests.helpers.databases import drop_postgres_database
from tests.helpers.databases import postgres_database

# In CI, property tests and schemathesis draw the same examples every run: a red CI is a finding to
# reproduce, never a dice roll. At a desk, they explore new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


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
