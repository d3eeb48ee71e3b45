"""Databases for tests: one per backend, real SQLite files and real PostgreSQL databases.

Every test that takes the `database` fixture (tests/conftest.py) runs once per backend: a real
SQLite file, and a real PostgreSQL database when IDCHECK_TEST_POSTGRES_URL is set (CI and
`make test` set it). Each PostgreSQL test makes its own database and drops it afterwards; if the
server does not answer, the test fails, it never skips.
"""

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
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
