"""A real `idcheck serve` (uvicorn) in a subprocess, over real sockets, plain or TLS."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import start_server


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    yield from start_server(database, tmp_path)
