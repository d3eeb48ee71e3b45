"""A real PgBouncer (Debian's package) in transaction pooling mode in front of a test's database,
on a free port, with a small server pool so that clients share server connections; run as the
postgres user (PgBouncer refuses root), stopped on exit."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers.databases import Database

PGBOUNCER = "/usr/sbin/pgbouncer"
#: Server connections per database and user: fewer than the API's clients (2 workers x 20).
POOL_SIZE = 4

_CONFIG = """[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
admin_users = {user}
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


@dataclass
class Bouncer:
    database: Database  # the same database, through PgBouncer
    port: int
    user: str

    def transactions(self) -> int:
        """Transactions PgBouncer has passed to the servers (SHOW STATS, its admin console,
        which speaks only the simple query protocol: psql)."""
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "pgbouncer",
             "-At", "-F", ",", "-c", "SHOW STATS"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        name = self.database.name
        rows = [line.split(",") for line in done.stdout.splitlines()]
        return sum(int(row[1]) for row in rows if row[0] == name)  # total_xact_count


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pgbouncer(database: Database) -> Iterator[Bouncer]:
    """``database`` seen through PgBouncer (transaction mode): the same database, another URL."""
    assert os.path.exists(PGBOUNCER), "pgbouncer is not installed (apt-get install pgbouncer)"
    target = urlsplit(database.url)
    folder = Path(tempfile.mkdtemp(prefix="idcheck-pgbouncer-"))
    listen = _free_port()
    (folder / "users.txt").write_text(f'"{target.username}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        _CONFIG.format(
            host=target.hostname,
            port=target.port,
            listen=listen,
            folder=folder,
            pool=POOL_SIZE,
            user=target.username,
        )
    )
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", listen)) == 0:
                    break
            assert process.poll() is None, (folder / "pgbouncer.log").read_text()
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.05)
        url = f"postgresql+asyncpg://{target.username}@127.0.0.1:{listen}{target.path}"
        yield Bouncer(Database("postgresql", url, name=database.name), listen, str(target.username))
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
