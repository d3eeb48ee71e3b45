"""Exact metering in process, on both backends: idempotency keys, quotas, rate limits, commit
failures, and the usage reports in JSON and CSV."""

import asyncio
import csv
import io
import os
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.models import IdempotencyRecord
from app.models import UsageCredit
from app.models import UsageDatasetCredit
from app.models import UsageEvent
from app.models import UsageMonth
from app.services.usage import dataset_earnings
from tests.helpers.commands import IDCHECK
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import Database
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload

PEOPLE = [
    {"id": "p1", "email": "anne@example.fr", "last_name": "Martin"},
    {"id": "p2", "email": "bruno@example.fr", "last_name": "Petit"},
]
RECORDS = [
    {"ref": "a", "email": "anne@example.fr", "last_name": "Martin"},  # verified
    {"ref": "b", "email": "nobody@example.fr"},  # unverified
    {"ref": "c", "email": "not an email"},  # invalid: not billable
]


async def _count(app: FastAPI, model: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def _verify(
    client: httpx.AsyncClient, buyer: Caller, records: list[dict[str, str]], key: str | None = None
) -> httpx.Response:
    headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
    return await client.post(
        "/v1/verify", json={"purpose": "p", "records": records}, headers=headers
    )


@pytest.fixture
async def loaded(client: httpx.AsyncClient, holder: Caller) -> str:
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    assert (
        await upload(client, holder, dataset, holder_records(PEOPLE, key, version))
    ).status_code == 200
    return dataset


async def test_a_retry_with_the_same_key_replays_and_bills_once(
    app: FastAPI, client: httpx.AsyncClient, buyer: Caller, loaded: str
) -> None:
    first = await _verify(client, buyer, RECORDS, key="order-42")
    assert first.status_code == 200
    usage = first.json()["usage"]
    assert usage.pop("event_id")
    assert usage == {"records": 3, "billable_records": 2, "matched_records": 1}
    again = await _verify(client, buyer, RECORDS, key="order-42")
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(app, UsageEvent) == 1
    other = await _verify(client, buyer, RECORDS[:1], key="order-42")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert await _count(app, UsageEvent) == 1


async def test_keys_are_per_organisation_and_refused_requests_are_not_kept(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, buyer: Caller, loaded: str
) -> None:
    other = await new_org(client, admin, "buyer")
    assert (await _verify(client, buyer, RECORDS, key="k")).status_code == 200
    theirs = await _verify(client, other, RECORDS, key="k")
    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    refused = await _verify(client, buyer, [{"emial": "x"}], key="k2")
    assert refused.status_code == 422
    assert (await _verify(client, buyer, RECORDS, key="k2")).status_code == 200
    assert await _count(app, UsageEvent) == 3
    too_long = await _verify(client, buyer, RECORDS, key="x" * 256)
    assert too_long.status_code == 422


async def test_stored_answers_are_sealed_and_expire(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, buyer: Caller, loaded: str
) -> None:
    created = await client.post(
        f"/v1/admin/orgs/{buyer.org_id}/keys",
        json={"label": "retry-safe"},
        headers={**admin.headers, "Idempotency-Key": "new-key-1"},
    )
    replayed = await client.post(
        f"/v1/admin/orgs/{buyer.org_id}/keys",
        json={"label": "retry-safe"},
        headers={**admin.headers, "Idempotency-Key": "new-key-1"},
    )
    assert replayed.json() == created.json()
    new_key = created.json()["key"]
    answer = await _verify(client, buyer, RECORDS, key="ref-sentinel")
    async with app.state.sessionmaker() as session:
        stored = list(await session.scalars(sa.select(IdempotencyRecord.response)))
        assert len(stored) == 2
        assert all(new_key.encode() not in blob and b"nobody@" not in blob for blob in stored)
        assert all(b'"ref"' not in blob for blob in stored)
        # A day and more later, the key is forgotten: the same key and body are a new request.
        long_ago = datetime.now(UTC) - timedelta(hours=25)
        await session.execute(sa.update(IdempotencyRecord).values(created_at=long_ago))
        await session.commit()
    assert answer.status_code == 200
    events = await _count(app, UsageEvent)
    fresh = await _verify(client, buyer, RECORDS, key="ref-sentinel")
    assert "idempotent-replayed" not in fresh.headers
    assert await _count(app, UsageEvent) == events + 1


async def test_a_quota_is_exact_and_refusals_bill_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: Caller,
    buyer: Caller,
    holder: Caller,
    loaded: str,
) -> None:
    url = f"/v1/admin/orgs/{buyer.org_id}/quota"
    assert (await client.put(url, json={"monthly_records": 3}, headers=admin.headers)).json() == {
        "org_id": buyer.org_id,
        "monthly_records": 3,
    }
    not_a_buyer = await client.put(
        f"/v1/admin/orgs/{holder.org_id}/quota", json={"monthly_records": 3}, headers=admin.headers
    )
    assert not_a_buyer.status_code == 409  # well formed; the organisation is what conflicts
    assert (await _verify(client, buyer, RECORDS)).status_code == 200  # 2 billable
    over = await _verify(client, buyer, RECORDS)  # 2 more would make 4 > 3
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    assert int(over.headers["retry-after"]) > 0
    assert (await _verify(client, buyer, RECORDS[:1])).status_code == 200  # exactly 3
    assert (await _verify(client, buyer, RECORDS[2:])).status_code == 200  # nothing billable
    assert (await _verify(client, buyer, RECORDS[:1])).status_code == 429
    async with app.state.sessionmaker() as session:
        billed = await session.scalar(sa.select(sa.func.sum(UsageEvent.billable_records)))
        counted = await session.scalar(sa.select(sa.func.sum(UsageMonth.billable_records)))
    assert billed == counted == 3
    await client.put(url, json={"monthly_records": None}, headers=admin.headers)
    assert (await _verify(client, buyer, RECORDS)).status_code == 200


class TestARateLimit:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"rate_limit_per_second": 0.5, "rate_limit_burst": 4}

    async def test_a_key_over_its_rate_gets_429_with_retry_after(
        self, client: httpx.AsyncClient, buyer: Caller, holder: Caller
    ) -> None:
        for _ in range(4):
            assert (await client.get("/v1/signing-key", headers=buyer.headers)).status_code == 200
        limited = await client.get("/v1/signing-key", headers=buyer.headers)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["retry-after"] == "2"
        # Another key has its own bucket.
        assert (await client.get("/v1/signing-key", headers=holder.headers)).status_code == 200


async def test_a_failed_commit_is_503_and_bills_nothing(
    app: FastAPI, database: Database, client: httpx.AsyncClient, buyer: Caller, loaded: str
) -> None:
    """A trigger makes the usage write fail: on PostgreSQL at COMMIT (a deferred constraint
    trigger), on SQLite as the row goes in. Either way: 503, and no usage at all."""
    async with app.state.sessionmaker() as session:
        if database.backend == "postgresql":
            await session.execute(sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$"
            ))  # fmt: skip
            await session.execute(sa.text(
                "CREATE CONSTRAINT TRIGGER refuse_usage AFTER INSERT ON usage_events "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
            ))  # fmt: skip
        else:
            await session.execute(sa.text(
                "CREATE TRIGGER refuse_usage BEFORE INSERT ON usage_events "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))  # fmt: skip
        await session.commit()
    answer = await _verify(client, buyer, RECORDS, key="after-failure")
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "store_unavailable"
    for model in (UsageEvent, UsageCredit, UsageMonth, IdempotencyRecord):
        assert await _count(app, model) == 0, model


async def _usage(client: httpx.AsyncClient, caller: Caller, query: str) -> Any:
    answer = await client.get(f"/v1/usage{query}", headers=caller.headers)
    assert answer.status_code == 200, answer.text
    return answer


async def test_usage_reports_for_finance_and_for_each_organisation(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller, loaded: str
) -> None:
    finance = await new_org(client, admin, "finance", "Finance")
    other_buyer = await new_org(client, admin, "buyer", "Second buyer")
    other_holder = await new_org(client, admin, "holder", "Second holder")
    dataset = await new_dataset(client, other_holder)
    version, key = await signing_key(client, other_holder)
    await upload(client, other_holder, dataset, holder_records(PEOPLE[:1], key, version))
    for caller in (buyer, buyer, other_buyer):
        assert (await _verify(client, caller, RECORDS)).status_code == 200
    period = "?from=2000-01-01&to=2999-01-01"
    by_buyer = (await _usage(client, finance, period + "&group_by=buyer")).json()["rows"]
    assert {
        (r["buyer_id"], r["requests"], r["records"], r["billable_records"], r["matched_records"])
        for r in by_buyer
    } == {
        (buyer.org_id, 2, 6, 4, 2),
        (other_buyer.org_id, 1, 3, 2, 1),
    }
    assert {r["buyer"] for r in by_buyer} >= {"Second buyer"}
    by_holder = (await _usage(client, finance, period + "&group_by=holder")).json()["rows"]
    assert {(r["holder"], r["requests"], r["matched_records"]) for r in by_holder} == {
        (next(r["holder"] for r in by_holder if r["holder_id"] == holder.org_id), 3, 3),
        ("Second holder", 3, 3),
    }
    total = (await _usage(client, finance, period)).json()["rows"]
    assert total == [{
        "buyer": None, "buyer_id": None, "holder": None, "holder_id": None, "period": None,
        "requests": 3, "records": 9, "billable_records": 6, "matched_records": 3, "evaluations": 0,
    }]  # fmt: skip
    by_day = (await _usage(client, admin, period + "&group_by=buyer,day")).json()["rows"]
    assert all(len(r["period"]) == 10 for r in by_day)
    by_month = (await _usage(client, admin, period + "&group_by=month,month")).json()["rows"]
    assert len(by_month) == 1
    assert len(by_month[0]["period"]) == 7
    mine = await client.get(f"/v1/usage/me{period}", headers=buyer.headers)
    assert mine.json()["rows"][0]["billable_records"] == 4
    credited = await client.get(f"/v1/usage/me{period}", headers=other_holder.headers)
    assert credited.json()["rows"][0]["matched_records"] == 3
    empty = (await _usage(client, finance, "?from=2001-01-01&to=2001-02-01&group_by=buyer")).json()
    assert empty["rows"] == []
    bad = await client.get("/v1/usage?group_by=country", headers=finance.headers)
    assert bad.status_code == 422


async def test_each_dataset_is_credited_and_its_holder_once(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller, buyer: Caller, loaded: str
) -> None:
    """Anne is in two of the holder's datasets, Bruno in one: a verify of both credits the
    holder 2 records, the first dataset 2 and the second 1; the holder's earnings page shows
    them by dataset."""
    second = await new_dataset(client, holder, name="second file")
    version, key = await signing_key(client, holder)
    await upload(client, holder, second, holder_records(PEOPLE[:1], key, version))
    assert (
        await _verify(client, buyer, [*RECORDS, {"email": "bruno@example.fr"}])
    ).status_code == 200
    async with app.state.sessionmaker() as session:
        by_holder = (
            await session.execute(sa.select(UsageCredit.holder_org_id, UsageCredit.matched_records))
        ).all()
        by_dataset = (
            await session.execute(
                sa.select(
                    UsageDatasetCredit.dataset_id,
                    UsageDatasetCredit.holder_org_id,
                    UsageDatasetCredit.matched_records,
                )
            )
        ).all()
        rows = await dataset_earnings(
            session, UUID(holder.org_id), date(2000, 1, 1), date(2999, 1, 1)
        )
    assert by_holder == [(UUID(holder.org_id), 2)]
    assert set(by_dataset) == {
        (UUID(loaded), UUID(holder.org_id), 2),
        (UUID(second), UUID(holder.org_id), 1),
    }
    assert {(row["dataset"], row["matched_records"]) for row in rows} >= {("second file", 1)}
    assert sum(row["matched_records"] for row in rows) == 3


async def test_the_csv_has_a_header_one_row_per_group_and_the_same_totals(
    client: httpx.AsyncClient, admin: Caller, buyer: Caller, loaded: str
) -> None:
    for _ in range(2):
        await _verify(client, buyer, RECORDS)
    query = "?from=2000-01-01&to=2999-01-01&group_by=buyer,holder,day"
    as_json = (await _usage(client, admin, query)).json()["rows"]
    by_param = await _usage(client, admin, query + "&format=csv")
    by_accept = await client.get(
        f"/v1/usage{query}", headers={**admin.headers, "Accept": "text/csv"}
    )
    assert by_param.headers["content-type"].startswith("text/csv")
    assert by_param.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_param.text)))
    assert list(rows[0]) == [
        "buyer", "buyer_id", "holder", "holder_id", "period",
        "requests", "records", "billable_records", "matched_records", "evaluations",
    ]  # fmt: skip
    assert len(rows) == len(as_json)
    for measure in ("requests", "records", "billable_records", "matched_records"):
        assert sum(int(r[measure]) for r in rows) == sum(r[measure] for r in as_json)


async def test_usage_export_writes_the_same_csv_without_http(
    app: FastAPI, database: Database, client: httpx.AsyncClient, admin: Caller, buyer: Caller,
    loaded: str, tmp_path: Path,
) -> None:  # fmt: skip
    for _ in range(3):
        await _verify(client, buyer, RECORDS)
    query = "?from=2000-01-01&to=2999-01-01&group_by=buyer,holder,month&format=csv"
    over_http = await _usage(client, admin, query)
    output = tmp_path / "usage.csv"
    env = {**os.environ, "IDCHECK_DATABASE_URL": database.url, "IDCHECK_MASTER_KEY": MASTER_KEY}
    done = await asyncio.create_subprocess_exec(
        str(IDCHECK), "usage", "export", "--from", "2000-01-01", "--to", "2999-01-01",
        "--group-by", "buyer,holder,month", "-o", str(output), env=env,
    )  # fmt: skip
    assert await done.wait() == 0
    assert output.read_text() == over_http.text
    assert over_http.text.count("\n") == 2  # the header and one buyer x holder x month
