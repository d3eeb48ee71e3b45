"""A PostgreSQL cluster of a test's own: a primary and a streaming replica in a temporary folder,
made with the server binaries of this machine (initdb, pg_basebackup -R), run as the postgres
user, stopped and removed afterwards. The shared server at 5432 is never touched.

Both load pg_stat_statements, so that a test can tell which server ran a statement.
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.helpers.databases import Database

DATABASE = "idcheck"


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    assert found, "PostgreSQL's server binaries (initdb) are not on this machine"
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*args: str | Path) -> None:
    """A server binary, as the postgres user when this process is root (initdb refuses root)."""
    command = [str(arg) for arg in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"


@dataclass
class Node:
    data: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        _as_postgres(_bindir() / "pg_ctl", "-D", self.data, "-l", self.data / "log", "-w", "start")

    def stop(self) -> None:
        _as_postgres(_bindir() / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    async def fetchval(self, query: str, *args: object) -> Any:
        connection = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()


@dataclass
class Cluster:
    primary: Node
    replica: Node

    @property
    def database(self) -> Database:
        return Database(
            "postgresql", self.primary.dsn.replace("postgresql://", "postgresql+asyncpg://")
        )


_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{folder}'
shared_preload_libraries = 'pg_stat_statements'
fsync = off
full_page_writes = off
max_connections = 60
"""


@contextmanager
def streaming_cluster() -> Iterator[Cluster]:
    """A primary with database ``idcheck`` (pg_stat_statements in it) and a hot standby
    streaming from it, each on a free port; stopped and removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="idcheck-cluster-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary = Node(folder / "primary", _free_port())
    replica = Node(folder / "replica", _free_port())
    started: list[Node] = []
    try:
        _as_postgres(_bindir() / "initdb", "-D", primary.data, "-U", "postgres", "-A", "trust",
                     "--no-sync")  # fmt: skip
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS.format(folder=folder) + f"port = {primary.port}\n")
        primary.start()
        started.append(primary)
        _as_postgres(_bindir() / "createdb", "-h", "127.0.0.1", "-p", str(primary.port),
                     "-U", "postgres", DATABASE)  # fmt: skip
        _as_postgres(_bindir() / "psql", "-h", "127.0.0.1", "-p", str(primary.port),
                     "-U", "postgres", "-d", DATABASE, "-c",
                     "CREATE EXTENSION pg_stat_statements")  # fmt: skip
        _as_postgres(_bindir() / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                     "-U", "postgres", "-D", replica.data, "-R", "-X", "stream",
                     "-c", "fast")  # fmt: skip
        with (replica.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.start()
        started.append(replica)
        yield Cluster(primary, replica)
    finally:
        for node in reversed(started):
            with contextlib.suppress(AssertionError):  # a test may have stopped it
                _as_postgres(_bindir() / "pg_ctl", "-D", node.data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
