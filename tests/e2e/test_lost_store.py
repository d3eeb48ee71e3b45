"""A lost store under a running server: 503 with Retry-After while it is gone, 200 again once it
is back, with no restart. PostgreSQL (the test drops and recreates its own database)."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server


@pytest.fixture
def server(pg_database: Database, tmp_path: Path) -> Iterator[Server]:
    yield from start_server(pg_database, tmp_path, workers=2)


async def _admin(*statements: str, terminate: str | None = None) -> None:
    """Statements on the maintenance database; first, ``terminate``'s sessions are ended."""
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        if terminate is not None:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                terminate,
            )
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _copy(name: str, copy: str) -> None:
    """A copy of the database, made between two of the server's connections."""
    for _ in range(50):
        try:
            await _admin(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"', terminate=name)
            return
        except asyncpg.ObjectInUseError:
            await asyncio.sleep(0.1)
    raise AssertionError("could not copy the database")


def _verify(client: httpx.Client, key: str) -> httpx.Response:
    return client.post(
        "/v1/verify",
        json={"purpose": "p", "records": [{"email": "anne@example.fr"}]},
        headers=auth(key),
    )


def test_a_dropped_database_is_503_until_it_is_back(server: Server, pg_database: Database) -> None:
    name, copy = str(pg_database.name), f"{pg_database.name}_copy"
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "buyer")
        assert _verify(client, buyer).status_code == 200
        asyncio.run(_copy(name, copy))
        try:
            asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
            for _ in range(4):  # both workers, fresh connections and pooled ones
                for answer in (_verify(client, buyer), client.get("/readyz")):
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["error"]["code"] == "store_unavailable"
                    assert answer.headers["retry-after"] == "5"
            assert client.get("/healthz").status_code == 200
            asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{copy}"'))
            deadline = time.monotonic() + 20
            while _verify(client, buyer).status_code != 200:
                assert time.monotonic() < deadline, "the server did not recover"
                time.sleep(0.2)
            assert client.get("/readyz").status_code == 200
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "unexpected" not in log
    assert "store unavailable" in log
