"""End to end through HTTP, against a real server: holders sign locally and upload, a buyer
verifies, and every answer equals the ground truth computed here from the signatures alone."""

import json
import random
import socket
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.cli.people import people
from signatures import KINDS
from signatures import sign_record
from tests.helpers.databases import Database
from tests.helpers.prospects import buyer_file
from tests.helpers.prospects import expected_verdict
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server


def _upload(client: httpx.Client, key: str, records: list[dict[str, Any]], *, ndjson: bool) -> None:
    dataset = client.post(
        "/v1/datasets", json={"name": "clients", "legal_basis": "consent"}, headers=auth(key)
    )
    assert dataset.status_code == 201
    url = f"/v1/datasets/{dataset.json()['id']}/records"
    if ndjson:
        body = "".join(json.dumps(record) + "\n" for record in records).encode()
        headers = {**auth(key), "Content-Type": "application/x-ndjson"}
        answer = client.post(url, content=body, headers=headers)
    else:
        answer = client.post(url, json={"records": records}, headers=auth(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["upserted"] == len(records)


def _sign_file(
    rows: list[dict[str, str]], key: bytes, version: int, rng: random.Random
) -> list[dict[str, Any]]:
    """What a holder's machine does: sign each row, keep only signatures and a date."""
    records = []
    for row in rows:
        signed = sign_record(row, key)
        if signed.signatures:
            updated = date(2026, 10, 31) - timedelta(days=rng.randrange(700))
            records.append(
                {
                    "external_id": row["external_id"],
                    "updated_at": updated.isoformat(),
                    "key_version": version,
                    "signatures": signed.signatures,
                }
            )
    return records


def _ground_truth(
    buyer_rows: list[dict[str, str]], key: bytes, holdings: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The expected answer, from signatures and dates alone: no server code involved."""
    held: dict[str, dict[str, str]] = {}  # signature -> holder -> latest updated_at
    for holder, records in holdings.items():
        for record in records:
            for signature in record["signatures"].values():
                seen = held.setdefault(signature, {})
                seen[holder] = max(seen.get(holder, ""), record["updated_at"])
    expected = []
    for row in buyer_rows:
        signed = sign_record(row, key)
        checks = {}
        for kind in KINDS:
            if kind in signed.signatures:
                holders = held.get(signed.signatures[kind], {})
                checks[kind] = {  # holders sent no close forms: exact or nothing
                    "match": bool(holders),
                    "level": "exact" if holders else "none",
                    "sources": len(holders),
                    "last_seen": max(holders.values()) if holders else None,
                }
        verdict = expected_verdict({kind: bool(check["match"]) for kind, check in checks.items()})
        expected.append(
            {"ref": row["ref"], "checks": checks, "invalid": signed.invalid, "verdict": verdict}
        )
    return expected


def test_holders_upload_a_buyer_verifies_and_every_answer_is_the_truth(server: Server) -> None:
    rng = random.Random(2026)
    with server.client() as client:
        holder_a = remote_org(client, server.admin_key, "holder", "Holder A")[1]
        holder_b = remote_org(client, server.admin_key, "holder", "Holder B")[1]
        buyer = remote_org(client, server.admin_key, "buyer", "Buyer")[1]
        finance = remote_org(client, server.admin_key, "finance", "Finance")[1]
        key_answer = client.get("/v1/signing-key", headers=auth(holder_a)).json()
        version, key = key_answer["version"], bytes.fromhex(key_answer["key"])

        rows = list(people(10_000, seed=5))
        file_a = _sign_file(rows, key, version, rng)
        assert len(file_a) > 9_900
        _upload(client, holder_a, file_a, ndjson=True)
        # Holder B knows 300 of the same people, under its own ids.
        shared = [{**row, "external_id": f"B-{n}"} for n, row in enumerate(rows[:300])]
        file_b = _sign_file(shared, key, version, rng)
        _upload(client, holder_b, file_b, ndjson=False)

        buyer_rows = buyer_file(rows[:300] + rows[5000:5300], rng)
        answer = client.post(
            "/v1/verify",
            json={"purpose": "prospect hygiene", "records": buyer_rows},
            headers=auth(buyer),
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        expected = _ground_truth(buyer_rows, key, {"A": file_a, "B": file_b})
        assert [r["ref"] for r in body["results"]] == [r["ref"] for r in buyer_rows]
        for got, want in zip(body["results"], expected, strict=True):
            assert got == want, want["ref"]
        verdicts = {r["verdict"] for r in body["results"]}
        assert verdicts == {"verified", "partial", "unverified", "invalid"}
        assert any(c["sources"] == 2 for r in body["results"] for c in r["checks"].values())
        assert body["usage"]["records"] == 1000
        assert body["usage"]["billable_records"] == sum(1 for r in expected if r["checks"])

        denied = client.post(
            "/v1/verify", json={"purpose": "x", "records": [{}]}, headers=auth(finance)
        )
        assert denied.status_code == 403
    log = server.log.read_text()
    for row in buyer_rows[:50]:
        for value in (row["email"], row["last_name"]):
            if len(value) > 5:
                assert value not in log


def test_an_oversized_body_is_refused_before_it_is_sent(server: Server) -> None:
    """Content-Length of 1 GB and a few bytes: the 413 comes at once, nothing is buffered; without
    a valid key, the 401 comes first (nobody unknown makes the server read a body)."""
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "big sender")
    parts = urlsplit(server.url)
    cases = ((buyer, b"413", b'"payload_too_large"'), ("idc_x", b"401", b'"unauthenticated"'))
    for key, status, code in cases:
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
            connection.sendall(
                b"POST /v1/verify HTTP/1.1\r\nHost: idcheck\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\n"
                b'Content-Length: 1000000000\r\n\r\n{"purpose"'
            )
            reply = b""
            while code not in reply and (chunk := connection.recv(65536)):
                reply += chunk  # the status line and the body may come in separate packets
        assert reply.startswith(b"HTTP/1.1 " + status), reply[:200]
        assert code in reply


def test_upload_and_verify_over_tls(database: Database, tmp_path: Path) -> None:
    for server in start_server(database, tmp_path, tls=True):
        assert server.url.startswith("https://")
        with server.client() as client:
            holder = remote_org(client, server.admin_key, "holder", "TLS holder")[1]
            buyer = remote_org(client, server.admin_key, "buyer", "TLS buyer")[1]
            key_answer = client.get("/v1/signing-key", headers=auth(holder)).json()
            rows = list(people(50, seed=8))
            records = _sign_file(
                rows, bytes.fromhex(key_answer["key"]), key_answer["version"], random.Random(1)
            )
            _upload(client, holder, records, ndjson=True)
            probe = {k: v for k, v in rows[0].items() if k != "external_id"}
            answer = client.post(
                "/v1/verify", json={"purpose": "tls", "records": [probe]}, headers=auth(buyer)
            )
            assert answer.status_code == 200
            assert answer.json()["results"][0]["verdict"] == "verified"
        with httpx.Client(base_url=server.url, verify=True) as untrusting:  # the system's CAs only
            try:
                untrusting.get("/healthz")
                raise AssertionError("a self-signed certificate was trusted")
            except httpx.ConnectError:
                pass
