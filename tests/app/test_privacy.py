"""No raw data at rest: sentinel values go in through every door (uploads, verifies, objections,
and so the audit log), then the whole database and the logs are scanned for them, raw, normalised,
as client-sent signatures, hex or bytes."""

import json
import logging
from collections.abc import AsyncIterator
from itertools import chain

import httpx
import pytest
from fastapi import FastAPI

from signatures import normalize_record
from signatures import sign_record
from tests.helpers.databases import Database
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import database_bytes
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import signing_key

SENTINEL = {
    "email": "Zq.Sentinelle+tag@Sentinel-Mail.example",
    "phone": "06 99 88 77 66",
    "first_name": "Xavéria",
    "last_name": "Sentinelovitch",
    "street": "77 rue du Sentinelleur",
    "postcode": "75077",
    "birth_date": "07/07/1977",
}
EXTERNAL_ID = "sentinel-holder-id-0042@crm.example"
OBJECTION = {"email": "Objecting.Sentinel@Opt-Out.example", "phone": "07 66 55 44 33"}


def _needles(signatures: list[str]) -> list[bytes]:
    normalized = normalize_record(SENTINEL).fields
    objection = normalize_record(OBJECTION).fields
    texts = [
        *SENTINEL.values(),
        *normalized.values(),
        *OBJECTION.values(),
        *objection.values(),
        EXTERNAL_ID,
        *signatures,
    ]
    needles = [text.encode() for text in texts if len(text) >= 8]
    needles += [bytes.fromhex(signature) for signature in signatures]
    return needles


async def test_nothing_raw_is_stored_or_logged(
    app: FastAPI,
    database: Database,
    client: httpx.AsyncClient,
    admin: Caller,
    holder: Caller,
    buyer: Caller,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    version, key = await signing_key(client, holder)
    holder_signed = sign_record(SENTINEL, key)
    holder_signatures = holder_signed.signatures
    dataset = await new_dataset(client, holder)
    record = {
        "external_id": EXTERNAL_ID,
        "updated_at": "2026-01-02",
        "key_version": version,
        **holder_signed.upload(),  # with the close forms of the names
    }
    uploaded = await client.post(
        f"/v1/datasets/{dataset}/records", json={"records": [record]}, headers=holder.headers
    )
    assert uploaded.status_code == 200
    raw = await client.post(
        "/v1/verify", json={"purpose": "kyc", "records": [SENTINEL]}, headers=buyer.headers
    )
    assert raw.json()["results"][0]["verdict"] == "verified"
    buyer_signed = sign_record({**SENTINEL, "last_name": "Sentinelovich"}, key)
    buyer_signatures = buyer_signed.signatures
    signed = await client.post(
        "/v1/verify/signed",
        json={"purpose": "kyc", "records": [{"key_version": version, **buyer_signed.upload()}]},
        headers=buyer.headers,
    )
    assert signed.status_code == 200
    assert signed.json()["results"][0]["checks"]["name_address"]["level"] == "close"
    refused = await client.post(  # a refused upload: its values must not show in errors either
        f"/v1/datasets/{dataset}/records",
        json={"records": [{**record, "updated_at": "2999-01-01"}]},
        headers=holder.headers,
    )
    assert refused.status_code == 422
    objected = await client.post("/v1/admin/optouts", json=OBJECTION, headers=admin.headers)
    assert objected.status_code == 204
    forwarded_phone = sign_record({"phone": "06 55 44 33 22"}, key).signatures["phone"]
    forwarded = await client.post(
        "/v1/optouts",
        json={"records": [{"key_version": version, "signatures": {"phone": forwarded_phone}}]},
        headers=holder.headers,
    )
    assert forwarded.status_code == 204
    audit_log = await client.get("/v1/admin/audit?limit=1000", headers=admin.headers)
    assert {"optout.add", "optout.forward", "verify.raw", "records.upload"} <= {
        entry["action"] for entry in audit_log.json()["entries"]
    }
    stored = await database_bytes(app, database)
    logs = caplog.text.encode()
    close = [*chain(*holder_signed.close.values()), *chain(*buyer_signed.close.values())]
    assert len(close) > 50
    signatures = [*holder_signatures.values(), *buyer_signatures.values(), *close, forwarded_phone]
    for needle in _needles(signatures):
        assert needle not in stored, needle
        assert needle not in logs, needle
        assert needle not in refused.content, needle
        assert needle not in audit_log.content, needle
    assert len(stored) > 10_000


async def test_an_upload_spool_holds_no_client_value(app: FastAPI) -> None:
    """An upload waits in a temporary file before its transaction: that file holds record keys
    and index values only, never a client's signature or external_id."""
    from uuid import uuid4

    from app.models import Dataset
    from app.services.uploads import spool_records

    keyring = app.state.keyring
    version = keyring.current
    signatures = sign_record(SENTINEL, keyring.signing_key(version)).signatures
    line = json.dumps(
        {"external_id": EXTERNAL_ID, "updated_at": "2026-01-02", "key_version": version,
         "signatures": signatures}
    ).encode()  # fmt: skip

    async def lines() -> AsyncIterator[tuple[int, bytes]]:
        yield 0, line

    dataset = Dataset(id=uuid4(), retention_days=30)
    spool = await spool_records(keyring, dataset, lines(), max_records=10)
    try:
        (chunk,) = list(spool.read())  # read() writes out the last chunk first
        kept = b""
        for file in (spool._file, spool._keys):  # the records, and their keys apart
            file.seek(0)
            kept += file.read()
    finally:
        spool.close()
    assert kept
    (_, record) = chunk[0]
    assert record.values["email"] == keyring.index_value(
        version, bytes.fromhex(signatures["email"])
    )
    for needle in _needles(list(signatures.values())):
        assert needle not in kept, needle
