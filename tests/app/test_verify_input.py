"""Verify's bad input: each gets its 4xx naming the record, nothing is billed or written."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import db_snapshot

RECORD = {"email": "jean@example.fr"}
HEX = "ab" * 16
SIGNED = {"key_version": 1, "signatures": {"email": HEX, "email_name": HEX}}


@pytest.mark.parametrize(
    ("path", "body", "index", "field"),
    [
        ("/v1/verify", {"purpose": "kyc", "records": [RECORD] * 1001}, 1000, None),
        ("/v1/verify", {"purpose": "kyc", "records": []}, None, "records"),
        ("/v1/verify", {"records": [RECORD]}, None, "purpose"),
        ("/v1/verify", {"purpose": "x" * 201, "records": [RECORD]}, None, "purpose"),
        ("/v1/verify", {"purpose": "kyc", "records": [RECORD, {"emial": "a@b.fr"}]}, 1, None),
        ("/v1/verify", {"purpose": "kyc", "records": [{"email": "a" * 257}]}, 0, "email"),
        ("/v1/verify", {"purpose": "kyc", "records": [{"ref": "r" * 129}]}, 0, "ref"),
        (
            "/v1/verify",
            {"purpose": "kyc", "default_country": "Atlantis", "records": [RECORD]},
            None,
            "default_country",
        ),
        (
            "/v1/verify/signed",
            {
                "purpose": "kyc",
                "records": [
                    {"key_version": 1, "signatures": {}},
                    {"key_version": 7, "signatures": {}},
                ],
            },
            1,
            "key_version",
        ),
        (
            "/v1/verify/signed",
            {"purpose": "kyc", "records": [{"key_version": 1, "signatures": {"email": "zz"}}]},
            0,
            "signatures.email",
        ),
        (
            "/v1/verify/signed",
            {"purpose": "kyc", "records": [{**SIGNED, "close": {"email_name": [HEX] * 25}}]},
            0,
            "close.email_name",
        ),
    ],
)
async def test_bad_verify_requests(
    app: FastAPI,
    client: httpx.AsyncClient,
    buyer: Caller,
    path: str,
    body: dict[str, Any],
    index: int | None,
    field: str | None,
) -> None:
    before = await db_snapshot(app)
    answer = await client.post(path, json=body, headers=buyer.headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(d["index"] == index and d["field"] == field for d in error["details"]), error
    assert "a@b.fr" not in answer.text
    assert await db_snapshot(app) == before  # no usage event: nothing billed


async def test_malformed_json_is_400(
    app: FastAPI, client: httpx.AsyncClient, buyer: Caller
) -> None:
    answer = await client.post(
        "/v1/verify",
        content=b'{"purpose": "kyc", "records": [',
        headers={**buyer.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"


class TestAConfiguredLimit:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"max_verify_records": 3}

    async def test_the_record_limit_is_configurable(
        self, client: httpx.AsyncClient, buyer: Caller
    ) -> None:
        records = {"purpose": "k", "records": [RECORD] * 3}
        ok = await client.post("/v1/verify", json=records, headers=buyer.headers)
        assert ok.status_code == 200
        records = {"purpose": "k", "records": [RECORD] * 4}
        over = await client.post("/v1/verify", json=records, headers=buyer.headers)
        assert over.status_code == 422
        assert over.json()["error"]["details"][0]["index"] == 3
