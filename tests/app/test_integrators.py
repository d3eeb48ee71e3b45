"""What integrators rely on: request ids, RateLimit headers, cursor pagination, relative periods,
quotas read back (docs/api.md)."""

import asyncio
import logging
import re
import uuid
from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from app.services.usage import period_bounds
from idcheck.client import AsyncClient
from schemas.vocabulary import Period
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import new_org

_MADE = re.compile(r"[0-9a-f]{32}")


async def test_every_answer_carries_a_request_id_also_in_its_log_line(
    client: httpx.AsyncClient, buyer: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="idcheck.access"):
        made = await client.get("/healthz")
        kept = await client.get("/healthz", headers={"X-Request-Id": "trace-0123456789abcdef"})
        refused = await client.get("/healthz", headers={"X-Request-Id": "jean.dupont@orange.fr"})
        short = await client.get("/healthz", headers={"X-Request-Id": "0612345678"})
    assert _MADE.fullmatch(made.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "trace-0123456789abcdef"
    for replaced in (refused, short):  # never a contact value echoed or logged
        assert _MADE.fullmatch(replaced.headers["x-request-id"])
    logged = [r.request_id for r in caplog.records if r.name == "idcheck.access"]  # type: ignore[attr-defined]
    answered = [a.headers["x-request-id"] for a in (made, kept, refused, short)]
    assert logged == answered
    assert "dupont" not in caplog.text
    assert "0612345678" not in caplog.text
    # A 200 of the API and its errors alike; a verify also names its usage event.
    verified = await client.post(
        "/v1/verify",
        json={"purpose": "p", "records": [{"email": "a@exemple.fr"}]},
        headers=buyer.headers,
    )
    assert _MADE.fullmatch(verified.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f-]{36}", verified.json()["usage"]["event_id"])
    denied = await client.get("/v1/admin/orgs", headers=buyer.headers)
    assert denied.json()["error"]["request_id"] == denied.headers["x-request-id"]


class TestRateLimitHeaders:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"rate_limit_per_second": 1.0, "rate_limit_burst": 2}

    async def test_they_decrease_then_reset(self, client: httpx.AsyncClient, buyer: Caller) -> None:
        answers = [await client.get("/v1/usage/me", headers=buyer.headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert [a.headers["ratelimit-limit"] for a in answers] == ["2", "2", "2"]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
        assert answers[2].json()["error"]["code"] == "rate_limited"
        reset = int(answers[2].headers["ratelimit-reset"])
        assert 1 <= reset <= 2
        await asyncio.sleep(reset)
        again = await client.get("/v1/usage/me", headers=buyer.headers)
        assert again.status_code == 200
        assert again.headers["ratelimit-remaining"] == "1"  # the bucket was full again
        assert "ratelimit-limit" not in (await client.get("/healthz")).headers  # no key, no bucket


async def test_pagination_returns_each_organisation_once(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    for number in range(250):
        made = await client.post(
            "/v1/admin/orgs",
            json={"name": f"org-{number:03}", "role": "buyer"},
            headers=admin.headers,
        )
        assert made.status_code == 201
    seen: list[str] = []
    after: str | None = None
    while True:
        params = {"limit": "7"} | ({"starting_after": after} if after else {})
        page = (await client.get("/v1/admin/orgs", params=params, headers=admin.headers)).json()
        assert len(page["orgs"]) <= 7
        seen += [org["id"] for org in page["orgs"]]
        if not page["has_more"]:
            break
        after = page["orgs"][-1]["id"]
    assert len(seen) == len(set(seen)) == 252  # the 250, the admin's, the sandbox's
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient("http://idcheck.test", admin.key, transport=transport) as sdk:
        walked = [org.id async for org in sdk.iter_orgs(limit=100)]
    assert [str(org_id) for org_id in walked] == seen
    stranger = await client.get(
        "/v1/admin/orgs", params={"starting_after": str(uuid.uuid4())}, headers=admin.headers
    )
    assert stranger.status_code == 422
    assert stranger.json()["error"]["details"][0]["field"] == "query.starting_after"


async def test_an_admin_reads_a_quota_and_a_buyer_its_own(
    client: httpx.AsyncClient, admin: Caller, buyer: Caller
) -> None:
    put = await client.put(
        f"/v1/admin/orgs/{buyer.org_id}/quota", json={"monthly_records": 10}, headers=admin.headers
    )
    assert put.status_code == 200
    records = [{"email": f"p{n}@exemple.fr"} for n in range(3)]
    verified = await client.post(
        "/v1/verify", json={"purpose": "p", "records": records}, headers=buyer.headers
    )
    assert verified.status_code == 200
    read = (await client.get(f"/v1/admin/orgs/{buyer.org_id}/quota", headers=admin.headers)).json()
    assert (read["monthly_records"], read["used_records"], read["remaining_records"]) == (10, 3, 7)
    assert read["resets_at"].endswith(("-01T00:00:00Z", "-01T00:00:00+00:00"))
    own = (await client.get("/v1/usage/me", headers=buyer.headers)).json()["quota"]
    assert own == read


@pytest.mark.parametrize(
    ("today", "period", "bounds"),
    [
        (date(2026, 12, 1), Period.THIS_MONTH, (date(2026, 12, 1), date(2027, 1, 1))),
        (date(2026, 12, 31), Period.THIS_MONTH, (date(2026, 12, 1), date(2027, 1, 1))),
        (date(2026, 12, 1), Period.LAST_MONTH, (date(2026, 11, 1), date(2026, 12, 1))),
        (date(2026, 1, 31), Period.LAST_MONTH, (date(2025, 12, 1), date(2026, 1, 1))),
        (date(2026, 3, 1), Period.LAST_30_DAYS, (date(2026, 1, 31), date(2026, 3, 2))),
        (date(2026, 3, 31), Period.LAST_30_DAYS, (date(2026, 3, 2), date(2026, 4, 1))),
    ],
)
def test_relative_periods_on_the_first_and_last_day_of_a_month(
    today: date, period: Period, bounds: tuple[date, date]
) -> None:
    assert period_bounds(period, today) == bounds
    start, end = bounds
    assert (start <= today < end) == (period is not Period.LAST_MONTH)


async def test_a_relative_period_is_served_and_not_mixed_with_dates(
    client: httpx.AsyncClient, admin: Caller, buyer: Caller
) -> None:
    finance = await new_org(client, admin, "finance")
    await client.post(
        "/v1/verify", json={"purpose": "p", "records": [{"email": "a@b.fr"}]}, headers=buyer.headers
    )
    for period, records in (("this_month", 1), ("last_30_days", 1), ("last_month", 0)):
        answer = await client.get(f"/v1/usage?period={period}", headers=finance.headers)
        assert answer.json()["rows"][0]["records"] == records, period
    mixed = await client.get("/v1/usage?period=this_month&from=2026-01-01", headers=finance.headers)
    assert mixed.status_code == 422
    unknown = await client.get("/v1/usage?period=yesterday", headers=finance.headers)
    assert unknown.status_code == 422


async def test_a_test_key_in_a_url_is_refused_like_a_live_one(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz", params={"key": "idc_buyer_test_0123abcd" + "0" * 32})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "api_key_in_query"
    assert answer.json()["error"]["request_id"] == answer.headers["x-request-id"]
