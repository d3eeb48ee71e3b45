"""/metrics: request, verify and upload counters, bounded labels only; optional bearer token."""

import httpx
import pytest

from signatures import sign_record
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in /metrics")


async def test_counters_move_and_labels_stay_bounded(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    person = {"id": "1", "email": "metrics@example.fr", "first_name": "Marc", "last_name": "Mesure"}
    await upload(client, holder, dataset, holder_records([person], key, version))
    typo = {"email": "metrics@example.fr", "first_name": "Marc", "last_name": "Mesurre"}
    records = [{"email": "x@example.fr"}, typo]
    await client.post(
        "/v1/verify", json={"purpose": "m", "records": records}, headers=buyer.headers
    )
    await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)
    text = (await client.get("/metrics")).text
    assert _value(text, 'idcheck_verified_records_total{endpoint="raw"}') == 2
    assert _value(text, 'idcheck_checks_total{kind="email",level="exact",match="true"}') == 1
    assert _value(text, 'idcheck_checks_total{kind="email",level="none",match="false"}') == 1
    assert _value(text, 'idcheck_checks_total{kind="email_name",level="close",match="false"}') == 1
    assert _value(text, 'idcheck_checks_total{kind="email_name",level="none",match="false"}') == 0
    stored = 2 + len(sign_record(person, key).close["email_name"])  # email, email_name, close
    assert _value(text, "idcheck_signatures_stored_total") == stored
    assert (
        _value(text, 'idcheck_http_requests_total{method="POST",route="/v1/verify",status="200"}')
        == 1
    )
    # Route templates, never concrete ids or organisations.
    assert dataset not in text
    assert "/v1/datasets/{dataset_id}" in text
    assert holder.org_id not in text
    assert buyer.org_id not in text


class TestAMetricsToken:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"metrics_token": "scrape-secret-123"}

    async def test_metrics_need_the_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
        assert right.status_code == 200
        assert "idcheck_http_requests_total" in right.text
