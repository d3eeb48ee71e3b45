"""A soak: well-behaved clients beside misbehaving ones, against a real server, for a while.

python -m bench soak [--seconds 120] [--backend sqlite|postgresql]

16 well-behaved buyers each send a single-record verify five times a second (80 requests a
second in all, well under the server's capacity here, so that what is measured is what the others
do to them). Four misbehaving clients, in a process of their own, loop for as long:

- stalled: five requests at a time (uploads and verifies with Idempotency-Keys, one holder key and
  one buyer key) that send their headers and the start of their body, then nothing;
- oversized: 32 MB verify bodies of `{}` records, by Content-Length and chunked in turn;
- slow headers: a header byte a second;
- disconnects: headers and half a body, then a hang-up.

The report gives the well-behaved clients' requests, errors, p50 and p99, and what each
misbehaving client saw (how its requests ended). The server is the benchmark's (bench.service,
production settings) with its default deadlines, body limits and per-key rate limit.
"""

import asyncio
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.service import server

GOOD_CLIENTS = 16
GOOD_RATE = 5.0  # requests a second, each
MASTER_KEY = "5e" + secrets.token_hex(31)
#: The benchmark's server turns the per-key rate limit off; a soak runs with the default (100 a
#: second and a burst of 200 per key), as production does.
PRODUCTION_LIMITS = {"IDCHECK_RATE_LIMIT_PER_SECOND": "100"}


@contextmanager
def _server(backend: str, postgres_url: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """The benchmark's server (bench.service) on a new PostgreSQL database, or on SQLite in
    ``workdir``: its URL and an admin key."""
    if backend == "sqlite":
        sqlite = f"sqlite:///{workdir / 'idcheck.db'}"
        with server(sqlite, MASTER_KEY, 1, workdir, PRODUCTION_LIMITS) as running:
            yield running[0], running[1]
        return
    database = f"idcheck_soak_{secrets.token_hex(4)}"
    _psql(postgres_url, f'CREATE DATABASE "{database}"')
    try:
        url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
        with server(url, MASTER_KEY, 2, workdir, PRODUCTION_LIMITS) as running:
            yield running[0], running[1]
    finally:
        _psql(postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _psql(url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def _key(client: httpx.Client, admin: str, role: str, name: str) -> str:
    headers = {"Authorization": f"Bearer {admin}"}
    org = client.post("/v1/admin/orgs", json={"name": name, "role": role}, headers=headers)
    org.raise_for_status()
    key = client.post(f"/v1/admin/orgs/{org.json()['id']}/keys", json={}, headers=headers)
    key.raise_for_status()
    return str(key.json()["key"])


# The misbehaving clients: each runs until the deadline and counts how its requests ended.


def _connect(host: str, port: int) -> socket.socket:
    return socket.create_connection((host, port), timeout=60)


def _head(method: str, path: str, key: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: soak", f"Authorization: Bearer {key}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _ending(sock: socket.socket, timeout: float) -> str:
    """How the server ended this request: its status, "closed", or "open" after ``timeout``."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(64)
    except TimeoutError:
        return "open"
    except OSError:
        return "reset"
    if not data:
        return "closed"
    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "garbage"


def _stalled(host: str, port: int, keys: dict[str, str], until: float, seen: Counter[str]) -> None:
    while time.monotonic() < until:
        socks = []
        for number in range(5):
            sock = _connect(host, port)
            idempotency = f"soak-{secrets.token_hex(6)}"
            if number % 2:
                sock.sendall(
                    _head(
                        "POST", f"/v1/datasets/{keys['dataset']}/records", keys["holder"],
                        {"Content-Type": "application/x-ndjson", "Content-Length": "100000",
                         "Idempotency-Key": idempotency},
                    ) + b'{"external_id": "x", "updated_at": "2026-01-01", '
                )  # fmt: skip
            else:
                sock.sendall(
                    _head(
                        "POST", "/v1/verify", keys["stalling_buyer"],
                        {"Content-Type": "application/json", "Content-Length": "5000",
                         "Idempotency-Key": idempotency},
                    ) + b'{"purpose": "p", "records": ['
                )  # fmt: skip
            socks.append(sock)
        for sock in socks:
            seen[_ending(sock, max(1.0, until - time.monotonic() + 40))] += 1
            sock.close()


def _oversized(
    host: str, port: int, keys: dict[str, str], until: float, seen: Counter[str]
) -> None:
    body = b'{"purpose": "p", "records": [' + b"{}," * (11 * 2**20) + b"{}]}"
    chunked = False
    while time.monotonic() < until:
        sock = _connect(host, port)
        headers = {"Content-Type": "application/json"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        try:
            sock.sendall(_head("POST", "/v1/verify", keys["stalling_buyer"], headers))
            for offset in range(0, len(body), 1 << 20):
                piece = body[offset : offset + (1 << 20)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        except OSError:
            pass
        seen[_ending(sock, 10)] += 1
        sock.close()
        chunked = not chunked


def _slow_headers(
    host: str, port: int, keys: dict[str, str], until: float, seen: Counter[str]
) -> None:
    del keys
    while time.monotonic() < until:
        sock = _connect(host, port)
        sock.settimeout(1)
        ending = "open"
        for byte in b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"a" * 10_000:
            try:
                sock.sendall(bytes([byte]))
                ending = _ending(sock, 1.0)
            except OSError:
                ending = "reset"
            if ending != "open" or time.monotonic() > until:
                break
        seen[ending] += 1
        sock.close()


def _disconnects(
    host: str, port: int, keys: dict[str, str], until: float, seen: Counter[str]
) -> None:
    while time.monotonic() < until:
        sock = _connect(host, port)
        sock.sendall(
            _head(
                "POST", "/v1/verify", keys["stalling_buyer"],
                {"Content-Type": "application/json", "Content-Length": "5000"},
            ) + b'{"purpose": "p", "records": [{"email": "a@example.fr"},'
        )  # fmt: skip
        time.sleep(0.05)
        sock.close()
        seen["hung up"] += 1
        time.sleep(0.05)


MISBEHAVING: dict[str, Callable[[str, int, dict[str, str], float, Counter[str]], None]] = {
    "stalled bodies": _stalled,
    "oversized bodies": _oversized,
    "slow headers": _slow_headers,
    "disconnects": _disconnects,
}


def _misbehave(base: str, keys: dict[str, str], seconds: float, names: list[str], out: Any) -> None:
    host, port = base.removeprefix("http://").split(":")
    until = time.monotonic() + seconds
    seen = {name: Counter[str]() for name in names}
    threads = [
        threading.Thread(
            target=MISBEHAVING[name], args=(host, int(port), keys, until, seen[name]), daemon=True
        )
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    out.put({name: dict(counter) for name, counter in seen.items()})


async def _behave(base: str, key: str, seconds: float) -> tuple[list[float], Counter[str]]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    until = time.monotonic() + seconds
    body = {"purpose": "soak", "records": [{"email": "anne@example.fr", "last_name": "Martin"}]}
    limits = httpx.Limits(max_connections=GOOD_CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one_client(number: int) -> None:
            # Spread over the period, as independent clients are (not all at the same instant).
            next_at = time.monotonic() + number / (GOOD_CLIENTS * GOOD_RATE)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            while next_at < until:
                started = time.perf_counter()
                try:
                    answer = await client.post(
                        "/v1/verify", json=body, headers={"Authorization": f"Bearer {key}"}
                    )
                    if answer.status_code != 200:
                        errors[str(answer.status_code)] += 1
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                latencies.append(time.perf_counter() - started)
                next_at += 1 / GOOD_RATE
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        await asyncio.gather(*(one_client(number) for number in range(GOOD_CLIENTS)))
    return latencies, errors


def _tenants(base: str, admin: str) -> dict[str, str]:
    """Keys of a holder (and a dataset of it) and a buyer that misbehave, and of a good buyer."""
    with httpx.Client(base_url=base, timeout=30) as client:
        keys = {
            "holder": _key(client, admin, "holder", "soak holder"),
            "stalling_buyer": _key(client, admin, "buyer", "soak stalling buyer"),
            "buyer": _key(client, admin, "buyer", "soak buyer"),
        }
        dataset = client.post(
            "/v1/datasets",
            json={"name": "soak", "legal_basis": "contract"},
            headers={"Authorization": f"Bearer {keys['holder']}"},
        )
        keys["dataset"] = str(dataset.json()["id"])
    return keys


def soak(seconds: float, backend: str, postgres_url: str, names: list[str]) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="idcheck-soak-") as folder,
        _server(backend, postgres_url, Path(folder)) as (base, admin),
    ):
        keys = _tenants(base, admin)
        out: Any = multiprocessing.get_context("spawn").Queue()
        misbehaving = multiprocessing.get_context("spawn").Process(
            target=_misbehave, args=(base, keys, seconds, names, out)
        )
        misbehaving.start()
        time.sleep(1)  # the misbehaving clients are in place before the measure starts
        latencies, errors = asyncio.run(_behave(base, keys["buyer"], seconds - 1))
        seen = out.get(timeout=seconds + 180)
        misbehaving.join(timeout=30)
    ordered = sorted(latencies)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "backend": backend,
        "seconds": seconds,
        "well_behaved": {
            "clients": GOOD_CLIENTS,
            "requests": len(ordered),
            "errors": dict(errors),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
        },
        "misbehaving": seen,
    }


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "IDCHECK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(MISBEHAVING),
        help="run only these misbehaving clients (repeat; none: --only '' is refused)",
    )
    args = parser.parse_args(argv)
    names = args.only or list(MISBEHAVING)
    print(json.dumps(soak(args.seconds, args.backend, args.postgres_url, names), indent=2))
