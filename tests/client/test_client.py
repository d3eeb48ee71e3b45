"""The SDK against a real uvicorn server: retries, idempotent replays, the exception tree."""

import time
from typing import Any

import pytest

from idcheck.client import AsyncClient
from idcheck.client import AuthenticationError
from idcheck.client import Client
from idcheck.client import IdempotencyKeyReused
from idcheck.client import InvalidInput
from idcheck.client import NotFound
from idcheck.client import PermissionDenied
from idcheck.client import QuotaExceeded
from idcheck.client import Retry
from idcheck.client import RetryEvent
from idcheck.client import TransportError
from tests.client.conftest import Orgs
from tests.e2e.proxy import FaultyProxy
from tests.helpers.servers import Server

PEOPLE = [
    {
        "ref": "a",
        "email": "jeanne.martin@exemple.fr",
        "first_name": "Jeanne",
        "last_name": "Martin",
    },
    {"ref": "b", "phone": "06 12 34 56 78", "first_name": "Paul", "last_name": "Durand"},
    {"ref": "c", "email": "not an email"},
]


def _usage(server: Server, key: str) -> Any:
    with Client(server.url, key) as client:
        return client.get_my_usage().rows


def test_a_503_is_retried_after_its_retry_after(proxy: FaultyProxy, orgs: Orgs) -> None:
    proxy.plan = ["unavailable"]
    events: list[RetryEvent] = []
    started = time.monotonic()
    with Client(proxy.url, orgs.buyer, on_retry=events.append) as client:
        answer = client.verify(PEOPLE, purpose="sdk test")
    assert time.monotonic() - started >= 1.0  # it waited as it was told
    assert [r.ref for r in answer.results] == ["a", "b", "c"]
    assert events == [RetryEvent(attempt=1, delay=1.0, reason="503 store_unavailable")]
    keys = {seen.idempotency_key for seen in proxy.seen}
    assert len(proxy.seen) == 2
    assert len(keys) == 1
    assert None not in keys


def test_a_429_is_retried_after_its_retry_after(limited_server: Server) -> None:
    with Client(limited_server.url, limited_server.admin_key) as admin:
        org = admin.create_org("limited buyer", "buyer")  # the admin's own second request waits
        buyer = admin.create_key(org.id).key
    events: list[RetryEvent] = []
    with Client(limited_server.url, buyer, on_retry=events.append) as client:
        client.verify(PEOPLE[:1], purpose="first")
        answer = client.verify(PEOPLE[:1], purpose="second, too soon")
    assert answer.usage.records == 1
    assert [(e.reason, e.delay) for e in events] == [("429 rate_limited", 1.0)]


def test_a_lost_answer_is_replayed_and_billed_once(
    server: Server, proxy: FaultyProxy, orgs: Orgs
) -> None:
    proxy.plan = ["drop"]
    events: list[RetryEvent] = []
    with Client(proxy.url, orgs.buyer, on_retry=events.append) as client:
        answer = client.verify(PEOPLE, purpose="sdk test", idempotency_key="lost-1")
    assert len(events) == 1
    assert events[0].reason == "RemoteProtocolError"
    assert [seen.idempotency_key for seen in proxy.seen] == ["lost-1", "lost-1"]
    (row,) = _usage(server, orgs.buyer)
    assert (row.requests, row.records, row.billable_records) == (1, 3, 2)
    with Client(server.url, orgs.buyer) as direct:  # the stored answer, again and free
        again = direct.verify(PEOPLE, purpose="sdk test", idempotency_key="lost-1")
        with pytest.raises(IdempotencyKeyReused):
            direct.verify(PEOPLE[:1], purpose="sdk test", idempotency_key="lost-1")
    assert again == answer
    assert _usage(server, orgs.buyer)[0].requests == 1


async def test_the_async_client_retries_the_same_way(proxy: FaultyProxy, orgs: Orgs) -> None:
    proxy.plan = ["drop", "unavailable"]
    events: list[RetryEvent] = []
    async with AsyncClient(proxy.url, orgs.buyer, on_retry=events.append) as client:
        answer = await client.verify(PEOPLE, purpose="sdk test")
    assert answer.usage.billable_records == 2
    assert [e.reason for e in events] == ["RemoteProtocolError", "503 store_unavailable"]
    assert len({seen.idempotency_key for seen in proxy.seen}) == 1


def test_a_quota_is_not_retried(server: Server, orgs: Orgs) -> None:
    events: list[RetryEvent] = []
    with Client(server.url, server.admin_key) as admin:
        admin.set_quota(orgs.buyer_id, 0)
    with (
        Client(server.url, orgs.buyer, on_retry=events.append) as client,
        pytest.raises(QuotaExceeded) as refused,
    ):
        client.verify(PEOPLE, purpose="over quota")
    assert refused.value.status == 429
    assert refused.value.retry_after is not None
    assert events == []


def test_no_server_is_a_transport_error_after_the_retries() -> None:
    events: list[RetryEvent] = []
    retry = Retry(attempts=3, backoff=0.01)
    with (
        Client("http://127.0.0.1:9", "idc_buyer_x", retry=retry, on_retry=events.append) as c,
        pytest.raises(TransportError),
    ):
        c.get_signing_key()
    assert [e.attempt for e in events] == [1, 2]


def test_errors_are_typed(server: Server, orgs: Orgs) -> None:
    with (
        Client(server.url, "idc_buyer_" + "0" * 40) as stranger,
        pytest.raises(AuthenticationError),
    ):
        stranger.get_signing_key()
    with Client(server.url, orgs.holder) as holder:
        with pytest.raises(PermissionDenied):
            holder.verify(PEOPLE, purpose="not a buyer")
        with pytest.raises(NotFound):
            holder.get_dataset("00000000-0000-0000-0000-000000000000")
        dataset = holder.create_dataset("sdk", "contract")
        bad = {
            "external_id": "x",
            "updated_at": "2999-01-01",
            "key_version": 1,
            "signatures": {"email": "0" * 32},
        }
        with pytest.raises(InvalidInput) as invalid:
            holder.upload_records(dataset.id, [bad])
    assert invalid.value.code == "invalid_input"
    assert invalid.value.details


def test_a_holder_uploads_and_sees_its_dataset(server: Server, orgs: Orgs) -> None:
    with Client(server.url, orgs.holder) as holder:
        dataset = holder.create_dataset("sdk upload", "contract", retention_days=30)
        records = [
            {
                "external_id": f"r{i}",
                "updated_at": "2026-01-02",
                "key_version": 1,
                "signatures": {"email": f"{i:032x}", "phone": f"{i + 100:032x}"},
            }
            for i in range(5)
        ]
        assert holder.upload_records(dataset.id, records).upserted == 5
        detail = holder.get_dataset(dataset.id)
        assert (detail.records, detail.signatures, detail.retention_days) == (5, 10, 30)
        assert holder.delete_records(dataset.id, ["r0", "r9"]).deleted == 1
        assert [d.id for d in holder.list_datasets().datasets] == [dataset.id]
        holder.delete_dataset(dataset.id)
        assert holder.list_datasets().datasets == []
