"""Holders' datasets and uploads: JSON and NDJSON, replacement, erasure, tenants, bad input."""

import asyncio
import json
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.models import Snapshot
from matching import signature_index
from matching.tables import snapshot_index
from signatures import MAX_CLOSE_FORMS
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import db_snapshot
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload

PEOPLE = [
    {
        "id": f"c-{n}",
        "email": f"person{n}@example.fr",
        "last_name": f"Nom{'a' * n}",
        "phone": f"06 12 34 56 {n:02d}",
    }
    for n in range(1, 6)
]


async def _records(
    client: httpx.AsyncClient, holder: Caller, people: list[dict[str, str]] = PEOPLE
) -> list[dict[str, Any]]:
    version, key = await signing_key(client, holder)
    return holder_records(people, key, version)


async def _verdicts(client: httpx.AsyncClient, buyer: Caller, emails: list[str]) -> list[str]:
    records = [{"email": email} for email in emails]
    answer = await client.post(
        "/v1/verify", json={"purpose": "test", "records": records}, headers=buyer.headers
    )
    assert answer.status_code == 200, answer.text
    return [result["verdict"] for result in answer.json()["results"]]


async def test_dataset_lifecycle(client: httpx.AsyncClient, holder: Caller) -> None:
    created = await client.post(
        "/v1/datasets",
        json={"name": "CRM 2026", "legal_basis": "legitimate_interests"},
        headers=holder.headers,
    )
    assert created.status_code == 201
    dataset = created.json()
    assert dataset["retention_days"] == 1095
    assert set(dataset) == {"id", "name", "legal_basis", "retention_days", "created_at"}
    again = await client.post(
        "/v1/datasets", json={"name": "CRM 2026", "legal_basis": "consent"}, headers=holder.headers
    )
    assert again.status_code == 409
    listed = await client.get("/v1/datasets", headers=holder.headers)
    assert [d["id"] for d in listed.json()["datasets"]] == [dataset["id"]]
    url = f"/v1/datasets/{dataset['id']}"
    assert (
        await upload(client, holder, dataset["id"], await _records(client, holder))
    ).status_code == 200
    detail = (await client.get(url, headers=holder.headers)).json()
    assert detail["records"] == 5
    assert detail["signatures"] == 20
    assert detail["by_kind"] == {
        "email": 5, "phone": 5, "email_name": 5, "phone_name": 5,
        "name_address": 0, "name_birth_date": 0,
    }  # fmt: skip
    assert detail["last_upload_at"] is not None
    assert (await client.delete(url, headers=holder.headers)).status_code == 204
    assert (await client.get(url, headers=holder.headers)).status_code == 404
    assert (await client.get("/v1/datasets", headers=holder.headers)).json() == {
        "datasets": [],
        "has_more": False,
    }


async def test_another_holders_dataset_is_not_found(
    client: httpx.AsyncClient, admin: Caller, holder: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    other = await new_org(client, admin, "holder")
    records = await _records(client, other)
    for method, url, body in [
        ("GET", f"/v1/datasets/{dataset}", None),
        ("DELETE", f"/v1/datasets/{dataset}", None),
        ("POST", f"/v1/datasets/{dataset}/records", {"records": records}),
        ("POST", f"/v1/datasets/{dataset}/records:delete", {"external_ids": ["c-1"]}),
    ]:
        answer = await client.request(method, url, json=body, headers=other.headers)
        assert answer.status_code == 404, (method, url)
        assert answer.json()["error"]["code"] == "not_found"
    assert (await client.get("/v1/datasets", headers=other.headers)).json() == {
        "datasets": [],
        "has_more": False,
    }
    assert (await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)).status_code == 200


async def test_ndjson_upload_streams_and_replaces_by_external_id(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    records = await _records(client, holder)
    body = "\n".join(json.dumps(r) for r in records) + "\n\n"

    async def chunks() -> Any:
        for start in range(0, len(body), 100):  # arrives in small pieces, cut mid-line
            yield body[start : start + 100].encode()

    answer = await client.post(
        f"/v1/datasets/{dataset}/records",
        content=chunks(),
        headers={**holder.headers, "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["upserted"] == 5
    # c-1 changes its email: the old one stops matching, the new one matches.
    moved = await _records(client, holder, [{**PEOPLE[0], "email": "new@example.fr"}])
    assert (await upload(client, holder, dataset, moved)).status_code == 200
    detail = (await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)).json()
    assert detail["records"] == 5
    verdicts = await _verdicts(client, buyer, ["person1@example.fr", "new@example.fr"])
    assert verdicts == ["unverified", "partial"]


async def test_records_delete_erases_at_once(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    await upload(client, holder, dataset, await _records(client, holder))
    deleted = await client.post(
        f"/v1/datasets/{dataset}/records:delete",
        json={"external_ids": ["c-1", "c-2", "c-1", "never-uploaded"]},
        headers=holder.headers,
    )
    assert deleted.json() == {"deleted": 2}
    verdicts = await _verdicts(client, buyer, ["person1@example.fr", "person3@example.fr"])
    assert verdicts == ["unverified", "partial"]


async def _rows_of(app: FastAPI, dataset: str) -> dict[str, int]:
    """The dataset's rows in each table that holds them (none has a foreign key to datasets)."""
    tables = {"signature_index": signature_index, "snapshot_index": snapshot_index,
              "snapshots": Snapshot.__table__}  # fmt: skip
    counts = {}
    async with app.state.sessionmaker() as session:
        for name, table in tables.items():
            counts[name] = await session.scalar(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.dataset_id == UUID(dataset))
            )
    return counts


async def test_a_deleted_dataset_leaves_no_row_behind(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    records = await _records(client, holder)
    await upload(client, holder, dataset, records)
    snapshots = f"/v1/datasets/{dataset}/snapshots"
    committed = (await client.post(snapshots, json={}, headers=holder.headers)).json()["id"]
    await client.post(f"{snapshots}/{committed}/records", json={"records": records},
                      headers=holder.headers)  # fmt: skip
    await client.post(f"{snapshots}/{committed}/commit", json={}, headers=holder.headers)
    staged = (await client.post(snapshots, json={}, headers=holder.headers)).json()["id"]
    answer = await client.post(
        f"{snapshots}/{staged}/records", json={"records": records}, headers=holder.headers
    )
    assert answer.status_code == 200, answer.text
    assert await _rows_of(app, dataset) == {
        "signature_index": 20, "snapshot_index": 20, "snapshots": 2,
    }  # fmt: skip
    gone = await client.delete(f"/v1/datasets/{dataset}", headers=holder.headers)
    assert gone.status_code == 204, gone.text
    assert await _rows_of(app, dataset) == {
        "signature_index": 0, "snapshot_index": 0, "snapshots": 0,
    }  # fmt: skip
    assert await _verdicts(client, buyer, ["person1@example.fr"]) == ["unverified"]


async def test_an_upload_that_ends_after_its_dataset_was_deleted_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller
) -> None:
    """The body is read before the transaction; the dataset is loaded again under its lock."""
    dataset = await new_dataset(client, holder)
    body = "".join(json.dumps(r) + "\n" for r in await _records(client, holder)).encode()
    sent_half = asyncio.Event()
    deleted = asyncio.Event()

    async def slowly() -> Any:
        yield body[: len(body) // 2]
        sent_half.set()
        await deleted.wait()
        yield body[len(body) // 2 :]

    uploading = asyncio.create_task(
        client.post(
            f"/v1/datasets/{dataset}/records",
            content=slowly(),
            headers={**holder.headers, "Content-Type": "application/x-ndjson"},
        )
    )
    await sent_half.wait()
    gone = await client.delete(f"/v1/datasets/{dataset}", headers=holder.headers)
    assert gone.status_code == 204, gone.text
    deleted.set()
    answer = await uploading
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "not_found"
    assert await _rows_of(app, dataset) == {
        "signature_index": 0, "snapshot_index": 0, "snapshots": 0,
    }  # fmt: skip


def _bad_batches(good: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]], int, str]]:
    first, second = good[0], good[1]
    return [
        ("unknown kind", [first, {**second, "signatures": {"emial": "0" * 32}}], 1, "signatures"),
        (
            "bad hex",
            [first, {**second, "signatures": {"email": "XYZ" * 10 + "00"}}],
            1,
            "signatures.email",
        ),
        (
            "upper-case hex",
            [{**first, "signatures": {"email": "AB" * 16}}, second],
            0,
            "signatures.email",
        ),
        (
            "short hex",
            [first, {**second, "signatures": {"email": "ab" * 15}}],
            1,
            "signatures.email",
        ),
        ("unknown key version", [first, {**second, "key_version": 9}], 1, "key_version"),
        ("future updated_at", [first, {**second, "updated_at": "2999-01-01"}], 1, "updated_at"),
        ("not a date", [first, {**second, "updated_at": "30/09/2026"}], 1, "updated_at"),
        (
            "duplicate external_id",
            [first, second, {**good[2], "external_id": first["external_id"]}],
            2,
            "external_id",
        ),
        ("empty external_id", [first, {**second, "external_id": ""}], 1, "external_id"),
        ("long external_id", [first, {**second, "external_id": "x" * 129}], 1, "external_id"),
        ("no signature", [first, {**second, "signatures": {}}], 1, "signatures"),
        ("unknown field", [first, {**second, "email": "raw@example.fr"}], 1, "email"),
        (
            "close forms of a contact kind",
            [first, {**second, "close": {"email": ["ab" * 16]}}],
            1,
            "close.email",
        ),
        (
            "too many close forms",
            [{**first, "close": {"email_name": ["ab" * 16] * (MAX_CLOSE_FORMS + 1)}}, second],
            0,
            "close.email_name",
        ),
        (
            "a bad close form",
            [first, {**second, "close": {"email_name": ["ab" * 16, "zz"]}}],
            1,
            "close.email_name.1",
        ),
    ]


async def test_a_key_given_twice_in_a_first_upload_is_named_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller
) -> None:
    """Into an empty dataset the records are copied straight in (PostgreSQL); a repeated
    external_id there, with a kind in common or none, still fails whole and names the repeat."""
    good = await _records(client, holder)
    email_only = {**good[2], "signatures": {"email": good[2]["signatures"]["email"]}}
    phone_only = {**good[0], "signatures": {"phone": good[0]["signatures"]["phone"]}}
    for batch in (
        [good[0], good[1], {**good[2], "external_id": good[0]["external_id"]}],
        [{**email_only, "external_id": "same"}, good[1], {**phone_only, "external_id": "same"}],
    ):
        dataset = await new_dataset(client, holder)
        before = await db_snapshot(app)
        answer = await upload(client, holder, dataset, batch)
        assert answer.status_code == 422, answer.text
        details = answer.json()["error"]["details"]
        assert [(d["index"], d["field"]) for d in details] == [(2, "external_id")], details
        assert await db_snapshot(app) == before
        assert (await upload(client, holder, dataset, good)).status_code == 200


async def test_repeats_across_chunks_and_replacement_in_a_dataset_that_holds_records(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller
) -> None:
    """On PostgreSQL every upload is copied straight into the index, a chunk of 1,000 records at
    a time, after deleting the rows the chunk's keys had: into an empty dataset or a filled one,
    a key repeated in a later chunk (a kind in common, or none) fails whole and is named, and a
    re-upload replaces a record's rows, the kinds it no longer has included."""
    people = [
        {
            "id": f"p-{n}",
            "email": f"p{n}@example.fr",
            "phone": f"06 12 {n // 100:02d} 34 {n % 100:02d}",
        }
        for n in range(2_400)
    ]
    records = await _records(client, holder, people)
    assert len(records) == 2_400

    def only(record: dict[str, Any], kind: str, external_id: str) -> dict[str, Any]:
        return {
            **record,
            "external_id": external_id,
            "signatures": {kind: record["signatures"][kind]},
        }

    def repeats(batch: list[dict[str, Any]], first: int, later: int) -> list[list[dict[str, Any]]]:
        same = batch[first]["external_id"]
        common = [*batch[:later], {**batch[later], "external_id": same}, *batch[later + 1 :]]
        disjoint = list(batch)
        disjoint[first] = only(batch[first], "email", same)
        disjoint[later] = only(batch[later], "phone", same)
        return [common, disjoint]

    async def refused(dataset: str, batch: list[dict[str, Any]], index: int) -> None:
        before = await db_snapshot(app)
        answer = await upload(client, holder, dataset, batch)
        assert answer.status_code == 422, answer.text
        details = answer.json()["error"]["details"]
        assert [(d["index"], d["field"]) for d in details] == [(index, "external_id")], details
        assert await db_snapshot(app) == before

    dataset = await new_dataset(client, holder)
    for batch in repeats(records[:1_500], 10, 1_200):  # empty: the second chunk repeats
        await refused(dataset, batch, 1_200)
    assert (await upload(client, holder, dataset, records[:1_500])).status_code == 200
    for batch in repeats(records[1_000:], 100, 1_300):  # filled: the same
        await refused(dataset, batch, 1_300)
    replaced = [only(r, "email", r["external_id"]) for r in records[:1_200]]
    answer = await upload(client, holder, dataset, replaced + records[1_500:])
    assert answer.status_code == 200, answer.text
    detail = (await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)).json()
    assert detail["records"] == 2_400
    assert detail["by_kind"]["email"] == 2_400
    assert detail["by_kind"]["phone"] == 2_400 - 1_200


async def test_one_bad_record_rejects_the_batch_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    good = await _records(client, holder)
    assert (await upload(client, holder, dataset, good[:1])).status_code == 200
    before = await db_snapshot(app)
    for name, batch, index, field in _bad_batches(good):
        for as_ndjson in (False, True):
            if as_ndjson:
                answer = await client.post(
                    f"/v1/datasets/{dataset}/records",
                    content="\n".join(json.dumps(r) for r in batch),
                    headers={**holder.headers, "Content-Type": "application/x-ndjson"},
                )
            else:
                answer = await upload(client, holder, dataset, batch)
            assert answer.status_code == 422, (name, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "invalid_input", name
            assert {"index": index, "field": field} in [
                {"index": d["index"], "field": d["field"]} for d in error["details"]
            ], (name, as_ndjson, error["details"])
            assert "raw@example.fr" not in answer.text
            assert "emial" not in answer.text  # nothing the client sent comes back
    assert await db_snapshot(app) == before


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"records": [', "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 422, "invalid_input"),
        (b'{"records": []}', "application/json", 422, "invalid_input"),
        (b"", "application/x-ndjson", 422, "invalid_input"),
        (b'{"external_id": "a"\n', "application/x-ndjson", 422, "invalid_input"),
        (b"external_id;signatures\n", "text/csv", 415, "unsupported_media_type"),
    ],
)
async def test_malformed_bodies(
    app: FastAPI,
    client: httpx.AsyncClient,
    holder: Caller,
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    dataset = await new_dataset(client, holder)
    before = await db_snapshot(app)
    answer = await client.post(
        f"/v1/datasets/{dataset}/records",
        content=content,
        headers={**holder.headers, "Content-Type": content_type},
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert await db_snapshot(app) == before
