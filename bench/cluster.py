"""A PostgreSQL cluster of one's own: a primary and streaming replicas in a folder, made with the
server binaries of this machine (initdb, pg_basebackup -R), run as the postgres user (initdb
refuses root), stopped and removed afterwards. For `python -m bench --replicas N` and for the
tests of replicas; the server at 5432 is never touched.

The servers keep initdb's defaults (as the machine's own server does) with autovacuum off like it;
``fast=True`` (tests) trades durability for speed (fsync off). Both load pg_stat_statements, so
that one can tell which server ran a statement.
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

DATABASE = "idcheck"

_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{folder}'
shared_preload_libraries = 'pg_stat_statements'
autovacuum = off
max_connections = 100
"""
_FAST = """
fsync = off
full_page_writes = off
"""


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4])
    )
    if not found:
        raise RuntimeError("PostgreSQL's server binaries (initdb) are not on this machine")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*args: str | Path) -> None:
    """A server binary, as the postgres user when this process is root."""
    command = [str(arg) for arg in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stdout}\n{done.stderr}")


@dataclass
class Node:
    data: Path
    port: int

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _as_postgres(_bindir() / "pg_ctl", "-D", self.data, "-l", self.data / "log", "-w", "start")

    def stop(self) -> None:
        _as_postgres(_bindir() / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    async def fetchval(self, query: str, *args: object, database: str = DATABASE) -> Any:
        connection = await asyncpg.connect(self.dsn(database), timeout=10)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()


@dataclass
class Cluster:
    primary: Node
    replicas: list[Node]


@contextmanager
def streaming_cluster(replicas: int = 1, *, fast: bool = False) -> Iterator[Cluster]:
    """A primary with database ``idcheck`` (pg_stat_statements in it) and ``replicas`` hot
    standbys streaming from it, each on a free port; stopped and removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="idcheck-cluster-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary = Node(folder / "primary", _free_port())
    standbys = [Node(folder / f"replica{n}", _free_port()) for n in range(replicas)]
    started: list[Node] = []
    psql: list[str | Path] = [_bindir() / "psql", "-h", "127.0.0.1", "-p", str(primary.port)]
    psql += ["-U", "postgres"]
    try:
        _as_postgres(_bindir() / "initdb", "-D", primary.data, "-U", "postgres", "-A", "trust",
                     "--no-sync")  # fmt: skip
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS.format(folder=folder) + (_FAST if fast else ""))
            conf.write(f"port = {primary.port}\n")
        primary.start()
        started.append(primary)
        _as_postgres(*psql, "-c", f"CREATE DATABASE {DATABASE}")
        _as_postgres(*psql, "-d", DATABASE, "-c", "CREATE EXTENSION pg_stat_statements")
        for standby in standbys:
            _as_postgres(_bindir() / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                         "-U", "postgres", "-D", standby.data, "-R", "-X", "stream",
                         "-c", "fast")  # fmt: skip
            with (standby.data / "postgresql.auto.conf").open("a") as conf:
                conf.write(f"port = {standby.port}\n")
            standby.start()
            started.append(standby)
        yield Cluster(primary, standbys)
    finally:
        for node in reversed(started):
            with contextlib.suppress(RuntimeError):  # a test may have stopped it
                _as_postgres(_bindir() / "pg_ctl", "-D", node.data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
