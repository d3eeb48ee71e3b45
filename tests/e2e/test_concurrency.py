"""Metering under load, against a real 4-worker server on PostgreSQL: exact totals, one charge per
idempotency key, exact quotas, no half-written usage when clients hang up, monotonic counters."""

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from signatures import sign_record
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import signed_upload
from tests.helpers.servers import start_server

WORKERS = 4
RECORDS = [
    {"email": "anne@example.fr", "last_name": "Martin"},
    {"email": "nobody@example.fr"},
    {"email": "not an email"},  # not billable
    {"phone": "06 12 34 56 78", "last_name": "Petit"},
]


@pytest.fixture
def database(pg_database: Database) -> Database:
    """Several workers need PostgreSQL (SQLite serves one): these tests run on it alone."""
    return pg_database


@pytest.fixture
def busy_server(database: Database, tmp_path: Path) -> Iterator[Server]:
    yield from start_server(
        database, tmp_path, workers=WORKERS, extra_env={"IDCHECK_DB_POOL_SIZE": "5"}
    )


async def _database_rows(database: Database, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database.url.replace("+asyncpg", ""))
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


def _settled(database: Database, seconds: float) -> bool:
    """True once, twice in a row, no other session of the database is running a statement or
    sits in an open transaction; False if that does not happen within ``seconds``."""
    query = (
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND (state = 'active' OR state LIKE 'idle in transaction%')"
    )
    deadline, quiet = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if asyncio.run(_database_rows(database, query))[0]["n"] == 0 else 0
        if quiet == 2:
            return True
        time.sleep(0.5)
    return False


class Scraper(threading.Thread):
    """Scrapes /metrics while the load runs; every counter must only go up."""

    def __init__(self, server: Server, times: int) -> None:
        super().__init__(daemon=True)
        self.server, self.times = server, times
        self.scrapes: list[dict[str, float]] = []

    def run(self) -> None:
        with self.server.client() as client:
            for _ in range(self.times):
                text = client.get("/metrics").text
                self.scrapes.append(
                    {
                        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                        for line in text.splitlines()
                        if line and not line.startswith("#") and "_total" in line.split(" ")[0]
                    }
                )
                time.sleep(0.05)


async def _load(server: Server, buyers: list[str], requests: int) -> list[tuple[str, int, Any]]:
    rng = random.Random(7)
    limits = httpx.Limits(max_connections=requests)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:

        async def one(index: int) -> tuple[str, int, Any]:
            buyer = buyers[index % len(buyers)]
            records = [rng.choice(RECORDS) for _ in range(rng.randint(1, 12))]
            answer = await client.post(
                "/v1/verify",
                json={"purpose": f"load {index}", "records": records},
                headers=auth(buyer),
            )
            return buyer, answer.status_code, answer.json()

        return await asyncio.gather(*(one(i) for i in range(requests)))


def test_usage_equals_the_answers_exactly_per_buyer(
    busy_server: Server, database: Database
) -> None:
    with busy_server.client() as client:
        holder = remote_org(client, busy_server.admin_key, "holder", "H")[1]
        ids, keys = zip(
            *(remote_org(client, busy_server.admin_key, "buyer", f"B{n}") for n in range(10)),
            strict=True,
        )
        finance = remote_org(client, busy_server.admin_key, "finance", "F")[1]
        signed = client.get("/v1/signing-key", headers=auth(holder)).json()
        dataset = client.post(
            "/v1/datasets", json={"name": "d", "legal_basis": "consent"}, headers=auth(holder)
        ).json()["id"]
        signatures = sign_record(RECORDS[0], bytes.fromhex(signed["key"])).signatures
        record = {
            "external_id": "1",
            "updated_at": "2026-01-01",
            "key_version": signed["version"],
            "signatures": signatures,
        }
        client.post(
            f"/v1/datasets/{dataset}/records", json={"records": [record]}, headers=auth(holder)
        )
    scraper = Scraper(busy_server, 20)
    scraper.start()
    results = asyncio.run(_load(busy_server, list(keys), 200))
    scraper.join(timeout=120)
    answered: Counter[str] = Counter()
    for buyer, status, body in results:
        assert status == 200, body
        answered[buyer] += body["usage"]["billable_records"]
    with busy_server.client() as client:
        rows = client.get(
            "/v1/usage?from=2000-01-01&to=2999-01-01&group_by=buyer", headers=auth(finance)
        ).json()["rows"]
    by_id = {row["buyer_id"]: row for row in rows}
    for org_id, key in zip(ids, keys, strict=True):
        assert by_id[org_id]["billable_records"] == answered[key]
        assert by_id[org_id]["requests"] == sum(1 for b, _, _ in results if b == key)
    assert sum(row["requests"] for row in rows) == 200
    # Counters never went down between scrapes, across all four workers.
    assert len(scraper.scrapes) == 20
    for before, after in zip(scraper.scrapes, scraper.scrapes[1:], strict=False):
        for series, value in before.items():
            assert after.get(series, 0.0) >= value, series
    last = scraper.scrapes[-1]
    assert last.get('idcheck_verify_requests_total{endpoint="raw"}', 0) <= 200


def test_one_idempotency_key_sent_twice_at_once_is_charged_once(
    busy_server: Server, database: Database
) -> None:
    with busy_server.client() as client:
        buyer = remote_org(client, busy_server.admin_key, "buyer", "Twice")[1]

    async def twice(key: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=busy_server.url, timeout=60) as client:
            body = {"purpose": "retry", "records": RECORDS * 50}
            send = [
                client.post(
                    "/v1/verify", json=body, headers=auth(buyer, **{"Idempotency-Key": key})
                )
                for _ in range(2)
            ]
            return list(await asyncio.gather(*send))

    outcomes: Counter[str] = Counter()
    for attempt in range(10):
        first, second = asyncio.run(twice(f"order-{attempt}"))
        statuses = sorted([first.status_code, second.status_code])
        assert statuses in ([200, 200], [200, 409]), statuses
        if statuses == [200, 200]:
            assert first.content == second.content
            outcomes["replayed"] += 1
        else:
            conflict = first if first.status_code == 409 else second
            assert conflict.json()["error"]["code"] == "idempotency_key_in_flight"
            outcomes["conflict"] += 1
    events = asyncio.run(_database_rows(database, "SELECT count(*) AS n FROM usage_events"))
    assert events[0]["n"] == 10, outcomes


def test_a_quota_holds_exactly_under_concurrent_load(
    busy_server: Server, database: Database
) -> None:
    with busy_server.client() as client:
        org_id, buyer = remote_org(client, busy_server.admin_key, "buyer", "Quota")
        quota = client.put(
            f"/v1/admin/orgs/{org_id}/quota",
            json={"monthly_records": 37},
            headers=auth(busy_server.admin_key),
        )
        assert quota.status_code == 200

    async def load() -> list[int]:
        async with httpx.AsyncClient(base_url=busy_server.url, timeout=60) as client:
            body = {"purpose": "quota", "records": [RECORDS[0]]}
            send = [client.post("/v1/verify", json=body, headers=auth(buyer)) for _ in range(80)]
            return [answer.status_code for answer in await asyncio.gather(*send)]

    statuses = Counter(asyncio.run(load()))
    assert statuses == {200: 37, 429: 43}
    billed = asyncio.run(
        _database_rows(database, "SELECT sum(billable_records) AS n FROM usage_events")
    )
    assert billed[0]["n"] == 37


def test_clients_that_hang_up_leave_no_open_transaction_and_no_partial_usage(
    busy_server: Server, database: Database
) -> None:
    with busy_server.client() as client:
        org_id, buyer = remote_org(client, busy_server.admin_key, "buyer", "Hang-up")
        quota = {"monthly_records": 10**9}  # so that the month's counter is kept, and checked
        client.put(
            f"/v1/admin/orgs/{org_id}/quota", json=quota, headers=auth(busy_server.admin_key)
        )
    parts = urlsplit(busy_server.url)
    body = (
        '{"purpose": "x", "records": [' + ",".join(['{"email": "anne@example.fr"}'] * 500) + "]}"
    ).encode()
    head = (
        f"POST /v1/verify HTTP/1.1\r\nHost: idcheck\r\nAuthorization: Bearer {buyer}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    for n in range(30):
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
            # Half of them hang up in the middle of the body, half right after sending it all.
            connection.sendall(head + (body[: len(body) // 2] if n % 2 else body))
    # The server finishes what it was doing (slowly, on a loaded machine); a transaction left
    # open by a hang-up never closes, so the database never settles.
    assert _settled(database, seconds=60), "a transaction stayed open after its client left"
    events = asyncio.run(
        _database_rows(
            database,
            "SELECT count(*) AS n, coalesce(sum(billable_records), 0) AS billed FROM usage_events",
        )
    )
    counted = asyncio.run(
        _database_rows(
            database, "SELECT coalesce(sum(billable_records), 0) AS billed FROM usage_months"
        )
    )
    assert events[0]["n"] <= 15  # the ones whose body arrived whole may have been answered
    assert events[0]["billed"] == counted[0]["billed"] == events[0]["n"] * 500


def test_a_verify_loop_never_sees_a_mix_or_an_empty_dataset_during_a_snapshot_commit(
    busy_server: Server,
) -> None:
    def people(prefix: str) -> list[dict[str, str]]:
        return [{"email": f"{prefix}{n}@example.fr", "last_name": "Nom"} for n in range(3000)]

    with busy_server.client() as client:
        holder = remote_org(client, busy_server.admin_key, "holder", "Snapshots")[1]
        buyer = remote_org(client, busy_server.admin_key, "buyer", "Looping")[1]
        signed = client.get("/v1/signing-key", headers=auth(holder)).json()
        key, version = bytes.fromhex(signed["key"]), signed["version"]

        def records(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
            return [signed_upload(row, key, version, row["email"]) for row in rows]

        dataset = client.post(
            "/v1/datasets", json={"name": "s", "legal_basis": "contract"}, headers=auth(holder)
        ).json()["id"]
        base = f"/v1/datasets/{dataset}"
        client.post(
            f"{base}/records", json={"records": records(people("old"))}, headers=auth(holder)
        )
        snapshot = client.post(f"{base}/snapshots", json={}, headers=auth(holder)).json()["id"]
        staged = client.post(
            f"{base}/snapshots/{snapshot}/records",
            json={"records": records(people("new"))},
            headers=auth(holder),
        )
        assert staged.status_code == 200
    probes = people("old")[:200] + people("new")[:200]
    seen: Counter[tuple[int, int]] = Counter()
    stop = threading.Event()

    def loop() -> None:
        with busy_server.client() as client:
            while not stop.is_set():
                answer = client.post(
                    "/v1/verify", json={"purpose": "loop", "records": probes}, headers=auth(buyer)
                )
                verdicts = [r["verdict"] != "unverified" for r in answer.json()["results"]]
                seen[(sum(verdicts[:200]), sum(verdicts[200:]))] += 1

    loops = [threading.Thread(target=loop) for _ in range(3)]
    for thread in loops:
        thread.start()
    time.sleep(1.0)
    with busy_server.client() as client:
        committed = client.post(
            f"{base}/snapshots/{snapshot}/commit", json={}, headers=auth(holder)
        )
        assert committed.status_code == 200
    time.sleep(1.0)
    stop.set()
    for thread in loops:
        thread.join(timeout=60)
    assert set(seen) == {(200, 0), (0, 200)}, seen  # the old data, then the new: nothing else
