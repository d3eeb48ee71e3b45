"""The SDK against a real server, through a real proxy that can misbehave on cue."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.proxy import FaultyProxy
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module's tests; each test makes its own organisations."""
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultyProxy]:
    parts = urlsplit(server.url)
    faulty = FaultyProxy((parts.hostname or "127.0.0.1", parts.port or 80))
    yield faulty
    faulty.close()


@dataclass
class Orgs:  # fresh organisations per test: usage and quotas never leak between tests
    buyer_id: str
    buyer: str
    holder: str


@pytest.fixture
def orgs(server: Server) -> Orgs:
    suffix = secrets.token_hex(3)
    with server.client() as client:
        buyer_id, buyer = remote_org(client, server.admin_key, "buyer", f"sdk buyer {suffix}")
        _, holder = remote_org(client, server.admin_key, "holder", f"sdk holder {suffix}")
    return Orgs(buyer_id, buyer, holder)


@pytest.fixture
def limited_server(database: Database, tmp_path: Path) -> Iterator[Server]:
    """A server that lets a key make one request a second, with no burst."""
    env = {"IDCHECK_RATE_LIMIT_PER_SECOND": "1", "IDCHECK_RATE_LIMIT_BURST": "1"}
    yield from start_server(database, tmp_path, extra_env=env)
