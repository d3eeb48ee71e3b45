"""Any failure to reach the store is 503 store_unavailable with Retry-After, and the server
recovers by itself: the meaning of each PostgreSQL failure, and "too many clients" for real."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy.exc

from app.errors import Conflict
from app.errors import StoreUnavailable
from app.main import create_app
from app.migrate import migrate
from app.store import StoreHealth
from app.store import meaning
from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database
from tests.helpers.inprocess import bootstrap_admin
from tests.helpers.inprocess import make_settings


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.InvalidCatalogNameError("database does not exist"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ConnectionRefusedError(111, "Connect call failed"),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
    ],
    ids=type,
)
def test_every_way_of_losing_the_store_is_a_503(error: Exception) -> None:
    assert isinstance(meaning(error), StoreUnavailable)


def test_a_lock_wait_that_runs_out_is_a_retryable_409_and_bugs_stay_500s() -> None:
    locked = meaning(asyncpg.exceptions.LockNotAvailableError("canceling statement"))
    assert isinstance(locked, Conflict)
    assert (locked.code, locked.headers) == ("busy", {"Retry-After": "1"})
    assert meaning(asyncpg.exceptions.UndefinedColumnError("no such column")) is None
    assert meaning(ValueError("a bug")) is None
    health = StoreHealth()  # a lock wait is not the store going away: nothing logged as such
    assert isinstance(health.answer(asyncpg.exceptions.LockNotAvailableError("x")), Conflict)
    assert not health.down
    assert isinstance(health.answer(asyncpg.exceptions.AdminShutdownError("x")), StoreUnavailable)
    assert health.down


@pytest.fixture
async def limited(pg_database: Database) -> AsyncIterator[tuple[Database, str]]:
    """The test database, owned by a role of its own (connection limits bind no superuser)."""
    role = f"idcheck_limited_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'ALTER DATABASE "{pg_database.name}" OWNER TO "{role}"')
        owned = pg_database.url.replace("postgres@", f"{role}@", 1)
        yield Database("postgresql", owned, name=pg_database.name), role
    finally:
        # Its tables are the role's: the database goes first (pg_database's own drop is then a
        # no-op), and the role after it.
        await admin.execute(f'DROP DATABASE IF EXISTS "{pg_database.name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_too_many_clients_is_503_and_the_server_recovers(
    limited: tuple[Database, str],
) -> None:
    database, role = limited
    await migrate(database.url)
    application = create_app(make_settings(database))
    async with application.router.lifespan_context(application):
        caller = await bootstrap_admin(application)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://idcheck.test") as client:
            assert (await client.get("/v1/admin/orgs", headers=caller.headers)).status_code == 200
            admin = await asyncpg.connect(POSTGRES_URL)
            try:
                await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                    role,
                )
                for path in ("/v1/admin/orgs", "/readyz"):
                    answer = await client.get(path, headers=caller.headers)
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["error"]["code"] == "store_unavailable"
                    assert answer.headers["retry-after"] == "5"
                await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
            finally:
                await admin.close()
            assert (await client.get("/v1/admin/orgs", headers=caller.headers)).status_code == 200


async def test_a_sqlite_writer_waits_in_order_and_not_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's writers queue for SQLite's one write lock; past the wait, 503 (nothing done)."""
    path = tmp_path / "idcheck.db"
    database = Database("sqlite", f"sqlite+aiosqlite:///{path}", path=path)
    await migrate(database.url)
    application = create_app(make_settings(database))
    monkeypatch.setattr("app.db.SQLITE_WRITE_WAIT", 0.5)
    async with application.router.lifespan_context(application):
        caller = await bootstrap_admin(application)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://idcheck.test") as client:
            org = {"name": "queued", "role": "buyer"}
            lock: asyncio.Lock = application.state.write_lock
            async with lock:  # another writer holds it
                waited = await client.post("/v1/admin/orgs", json=org, headers=caller.headers)
                assert waited.status_code == 503, waited.text
                assert waited.headers["retry-after"] == "5"
                read = await client.get("/v1/admin/orgs", headers=caller.headers)
                assert read.status_code == 200  # reads never queue
            done = await client.post("/v1/admin/orgs", json=org, headers=caller.headers)
            assert done.status_code == 201
