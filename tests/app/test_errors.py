"""One error shape everywhere: our errors, FastAPI's own 404/405/422, 413s and 500s."""

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import create_sessionmaker
from app.transaction import TransactionalRoute
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import db_snapshot
from tests.helpers.inprocess import new_dataset


def _shape(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == answer.headers["x-request-id"]
    return dict(body["error"])


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    _shape(await client.get("/v1/nope"), 404, "not_found")
    _shape(await client.put("/healthz"), 405, "method_not_allowed")


async def test_an_id_that_is_not_one_names_nothing(
    client: httpx.AsyncClient, holder: Caller
) -> None:
    for path in ("/v1/datasets/not-a-uuid", "/v1/datasets/None/records:delete"):
        method = "POST" if path.endswith(":delete") else "GET"
        answer = await client.request(
            method, path, json={"external_ids": ["a"]}, headers=holder.headers
        )
        _shape(answer, 404, "not_found")


async def test_an_unexpected_error_is_a_plain_500_logged_without_its_message(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("sentinel-jean.dupont@example.fr")

    app.router.routes.append(TransactionalRoute("/explode", explode, methods=["GET"]))
    with caplog.at_level(logging.INFO):
        answer = await client.get("/explode")
    error = _shape(answer, 500, "internal_error")
    assert error["message"] == "internal error"
    assert "Traceback" not in answer.text
    assert "sentinel" not in answer.text
    assert "RuntimeError" in caplog.text
    assert "sentinel" not in caplog.text


class TestBodyLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"max_verify_records": 2, "max_upload_body_bytes": 8192}

    async def test_a_declared_length_over_the_limit_is_413(
        self, client: httpx.AsyncClient, buyer: Caller
    ) -> None:
        # Two records a request: 2 x 2 KiB and the envelope's 16 KiB; this is 40 KB.
        body = b'{"purpose": "k", "records": [' + b'{"email": "a@b.fr"},' * 2000 + b"{}]}"
        answer = await client.post(
            "/v1/verify",
            content=body,
            headers={**buyer.headers, "Content-Type": "application/json"},
        )
        _shape(answer, 413, "payload_too_large")

    async def test_a_streamed_body_is_cut_at_the_limit(
        self, app: FastAPI, client: httpx.AsyncClient, holder: Caller
    ) -> None:
        dataset = await new_dataset(client, holder)
        before = await db_snapshot(app)
        sent = 0

        async def stream() -> Any:
            nonlocal sent
            for _ in range(1000):  # 1 MB, far over the 8 KB upload limit
                sent += 1
                yield (
                    b'{"external_id": "x", "updated_at": "2026-01-01", "key_version": 1, '
                    + b" " * 900
                    + b"\n"
                )

        for content_type in ("application/x-ndjson", "application/json"):
            answer = await client.post(
                f"/v1/datasets/{dataset}/records",
                content=stream(),
                headers={**holder.headers, "Content-Type": content_type},
            )
            _shape(answer, 413, "payload_too_large")
        assert await db_snapshot(app) == before


async def test_an_unavailable_store_is_503_and_readyz_says_so(
    app: FastAPI, client: httpx.AsyncClient, buyer: Caller
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    working = app.state.sessionmaker, app.state.read_sessionmaker
    dead = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:1/none", connect_args={"timeout": 2}
    )
    app.state.sessionmaker = app.state.read_sessionmaker = create_sessionmaker(dead)
    try:
        _shape(await client.get("/readyz"), 503, "store_unavailable")
        verify = await client.post(
            "/v1/verify",
            json={"purpose": "p", "records": [{"email": "a@b.fr"}]},
            headers=buyer.headers,
        )
        _shape(verify, 503, "store_unavailable")
        assert verify.headers["retry-after"] == "5"
        assert (await client.get("/healthz")).status_code == 200
    finally:
        app.state.sessionmaker, app.state.read_sessionmaker = working
        await dead.dispose()
