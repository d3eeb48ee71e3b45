"""The service behind a real PgBouncer in transaction pooling mode (IDCHECK_DATABASE_TRANSACTION_
POOLING=true): migrations, holders' uploads, buyers' verifies in parallel, idempotent replays, a
snapshot, a deletion, and usage that finance reads exactly, with more API connections (2 workers)
than server connections (tests/helpers/pgbouncer.py: 4)."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e import test_end_to_end as end_to_end
from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database
from tests.helpers.databases import create_postgres_database
from tests.helpers.databases import drop_postgres_database
from tests.helpers.pgbouncer import Bouncer
from tests.helpers.pgbouncer import pgbouncer
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import signed_upload
from tests.helpers.servers import start_server

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="IDCHECK_TEST_POSTGRES_URL is not set")

PEOPLE = [{"email": f"p{n}@bouncer.example", "last_name": f"Nom{n}"} for n in range(40)]


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    database = asyncio.run(create_postgres_database())
    try:
        # Behind a pooler no setting is sent at connect: the timeouts are the database's own
        # (docs/deploy.md).
        asyncio.run(
            _on(database, f'ALTER DATABASE "{database.name}" SET statement_timeout = 30000')
        )
        with pgbouncer(database) as bouncer:
            yield bouncer
    finally:
        asyncio.run(drop_postgres_database(database))


@pytest.fixture(scope="module")
def bounced(bouncer: Bouncer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"IDCHECK_DATABASE_TRANSACTION_POOLING": "true", "IDCHECK_RATE_LIMIT_PER_SECOND": "0"}
    workdir = tmp_path_factory.mktemp("pgbouncer")
    yield from start_server(bouncer.database, workdir, workers=2, extra_env=env)


async def _on(database: Database, statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def test_holders_upload_and_a_buyer_verifies_through_pgbouncer(bounced: Server) -> None:
    end_to_end.test_holders_upload_a_buyer_verifies_and_every_answer_is_the_truth(bounced)


def _records(key: bytes, version: int, people: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [signed_upload(person, key, version, person["email"]) for person in people]


async def _verifies(server: Server, buyers: list[str], rounds: int) -> list[tuple[str, int]]:
    """Every buyer verifies ``rounds`` requests of 1-3 people, all at once; (buyer, billed)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

        async def one(n: int) -> tuple[str, int]:
            buyer = buyers[n % len(buyers)]
            people = PEOPLE[n % 30 : n % 30 + 1 + n % 3]
            answer = await client.post(
                "/v1/verify", json={"purpose": f"p{n}", "records": people}, headers=auth(buyer)
            )
            assert answer.status_code == 200, answer.text
            return buyer, int(answer.json()["usage"]["billable_records"])

        return await asyncio.gather(*(one(n) for n in range(rounds * len(buyers))))


def test_parallel_verifies_are_billed_exactly_through_pgbouncer(bounced: Server) -> None:
    with bounced.client() as client:
        holder = remote_org(client, bounced.admin_key, "holder", "Bounced holder")[1]
        finance = remote_org(client, bounced.admin_key, "finance", "Bounced finance")[1]
        buyers = dict(
            remote_org(client, bounced.admin_key, "buyer", f"Bounced buyer {n}") for n in range(5)
        )
        signing = client.get("/v1/signing-key", headers=auth(holder)).json()
        key, version = bytes.fromhex(signing["key"]), signing["version"]
        dataset = client.post(
            "/v1/datasets", json={"name": "d", "legal_basis": "consent"}, headers=auth(holder)
        ).json()["id"]
        base = f"/v1/datasets/{dataset}"
        upload = {"records": _records(key, version, PEOPLE[:20])}
        once = auth(holder, **{"Idempotency-Key": "bounced-upload-1"})
        first = client.post(f"{base}/records", json=upload, headers=once)
        again = client.post(f"{base}/records", json=upload, headers=once)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        snapshot = client.post(f"{base}/snapshots", json={}, headers=auth(holder)).json()["id"]
        staged = client.post(
            f"{base}/snapshots/{snapshot}/records",
            json={"records": _records(key, version, PEOPLE[:25])},
            headers=auth(holder),
        )
        assert staged.status_code == 200, staged.text
        committed = client.post(
            f"{base}/snapshots/{snapshot}/commit", json={}, headers=auth(holder)
        )
        assert committed.status_code == 200, committed.text
        deleted = client.post(
            f"{base}/records:delete",
            json={"external_ids": [PEOPLE[0]["email"]]},
            headers=auth(holder),
        )
        assert deleted.json() == {"deleted": 1}

    answers = asyncio.run(_verifies(bounced, list(buyers.values()), rounds=12))
    billed: Counter[str] = Counter()
    for buyer, records in answers:
        billed[buyer] += records
    with bounced.client() as client:
        rows = client.get(
            "/v1/usage?from=2000-01-01&to=2999-01-01&group_by=buyer", headers=auth(finance)
        ).json()["rows"]
        usage = {row["buyer_id"]: row["billable_records"] for row in rows}
        assert {org: usage.get(org) for org in buyers} == {
            org: billed[key] for org, key in buyers.items()
        }
        gone = client.post(
            "/v1/verify",
            json={"purpose": "after", "records": [PEOPLE[0], PEOPLE[24]]},
            headers=auth(next(iter(buyers.values()))),
        ).json()["results"]
        assert [r["checks"]["email"]["match"] for r in gone] == [False, True]


def test_every_transaction_went_through_pgbouncer(bounced: Server, bouncer: Bouncer) -> None:
    before = bouncer.transactions()
    with bounced.client() as client:
        assert client.get("/readyz").status_code == 200
        assert remote_org(client, bounced.admin_key, "buyer", "Counted")
    assert bouncer.transactions() >= before + 3  # the key, the read, the admin's writes
    assert "Traceback" not in bounced.log.read_text()
