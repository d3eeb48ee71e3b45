"""Blind mode's routes: key versions and schemes, the evaluation route's limits and quota, raw
verify over both schemes, and nothing of an element kept or logged."""

import asyncio
import logging
import os

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app import deps
from app.deps import reload_keyring
from app.models import AuditEvent
from app.services.evaluations import PER_RECORD
from app.services.key_versions import load_keyring
from app.services.key_versions import rotate
from matching import KeyRing
from signatures import Scheme
from signatures import canonical_message
from signatures import derive_oprf_secret
from signatures import normalize_record
from signatures import oprf
from signatures import oprf_sign_fields
from signatures import sign_fields
from signatures import sign_record
from tests.helpers.databases import MASTER_KEY
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key

OPRF = str(Scheme.OPRF)
PERSON = {
    "email": "Jean.Dupont@Orange.fr",
    "phone": "06 12 34 56 78",
    "first_name": "Jean",
    "last_name": "Dupont",
}


async def _rotate(client: httpx.AsyncClient, admin: Caller, scheme: str | None = None) -> int:
    body = {} if scheme is None else {"scheme": scheme}
    rotated = await client.post("/v1/admin/key-versions", json=body, headers=admin.headers)
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["scheme"] == (scheme or "hmac-sha256")
    return int(rotated.json()["version"])


async def _evaluate(
    client: httpx.AsyncClient, caller: Caller, version: int, elements: list[str]
) -> httpx.Response:
    body = {"key_version": version, "elements": elements}
    return await client.post("/v1/oprf/evaluate", json=body, headers=caller.headers)


def _blinded(count: int) -> list[oprf.Blinded]:
    return [oprf.blind(os.urandom(20)) for _ in range(count)]


async def test_an_oprf_version_hands_out_no_key_and_says_its_scheme(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    version = await _rotate(client, admin, OPRF)
    for caller in (holder, buyer):
        refused = await client.get("/v1/signing-key", headers=caller.headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "use_blind_evaluation"
        current = (await client.get("/v1/key-versions/current", headers=caller.headers)).json()
        assert current == {
            "version": version,
            "scheme": OPRF,
            "spec": "idcheck-v1",
            "live": [
                {"version": 1, "scheme": "hmac-sha256", "spec": "idcheck-v1"},
                {"version": version, "scheme": OPRF, "spec": "idcheck-v1"},
            ],
        }
        keys = (await client.get("/v1/signing-keys", headers=caller.headers)).json()["keys"]
        assert [key["version"] for key in keys] == [1]
    listed = (await client.get("/v1/admin/key-versions", headers=admin.headers)).json()
    assert [(v["version"], v["scheme"], v["current"]) for v in listed["versions"]] == [
        (1, "hmac-sha256", False),
        (version, OPRF, True),
    ]
    # Back to HMAC: the new key is handed out again, and the OPRF version stays live.
    hmac_version = await _rotate(client, admin)
    assert (await signing_key(client, holder))[0] == hmac_version
    keys = (await client.get("/v1/signing-keys", headers=holder.headers)).json()["keys"]
    assert [key["version"] for key in keys] == [1, hmac_version]


async def test_blind_evaluation_through_the_route_is_the_servers_direct_evaluation(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    version = await _rotate(client, admin, OPRF)
    secret = derive_oprf_secret(bytes.fromhex(MASTER_KEY), version)
    inputs = [os.urandom(length) for length in range(0, 300, 7)]
    blinded = [oprf.blind(data) for data in inputs]
    for caller in (holder, buyer):
        answer = await _evaluate(client, caller, version, [b.element.hex() for b in blinded])
        assert answer.status_code == 200, answer.text
        assert answer.json()["key_version"] == version
        evaluated = [bytes.fromhex(element) for element in answer.json()["evaluated"]]
        for data, item, element in zip(inputs, blinded, evaluated, strict=True):
            assert oprf.finalize(data, item.blind, element) == oprf.evaluate(secret, data)
    assert app.state.keyring.sign_fields(version, {"email": "a@b.fr"}) == oprf_sign_fields(
        {"email": "a@b.fr"}, secret
    )


def _identity() -> str:
    return bytes(32).hex()


def _non_canonical() -> str:
    # 2^255 - 1: above the field's prime, so not the canonical encoding of anything.
    return ("ff" * 31) + "7f"


@pytest.mark.parametrize(
    ("element", "why"),
    [
        ("zz" * 32, "string_pattern_mismatch"),
        ("00" * 31, "string_pattern_mismatch"),
        ("00" * 33, "string_pattern_mismatch"),
        ("AB" * 32, "string_pattern_mismatch"),  # upper case: the contract says lower-case hex
        (_non_canonical(), "ristretto255"),
        (_identity(), "ristretto255"),
    ],
)
async def test_a_bad_element_is_422_naming_its_index_and_nothing_is_counted(
    client: httpx.AsyncClient,
    admin: Caller,
    buyer: Caller,
    caplog: pytest.LogCaptureFixture,
    element: str,
    why: str,
) -> None:
    version = await _rotate(client, admin, OPRF)
    good = [b.element.hex() for b in _blinded(4)]
    with caplog.at_level(logging.DEBUG):
        refused = await _evaluate(client, buyer, version, [*good[:3], element, good[3]])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_input"
    assert [(d["index"], d["field"]) for d in error["details"]] == [(3, "elements")]
    if why == "ristretto255":
        assert "ristretto255" in error["details"][0]["message"]
    for text in (refused.text, caplog.text):
        assert element.lower() not in text.lower()
        assert all(value not in text for value in good)
    usage = await client.get("/v1/usage/me?from=2000-01-01&to=2999-01-01", headers=buyer.headers)
    assert usage.json()["rows"][0]["evaluations"] == 0


async def test_too_many_elements_an_hmac_or_unknown_version_are_422(
    client: httpx.AsyncClient, admin: Caller, holder: Caller
) -> None:
    version = await _rotate(client, admin, OPRF)
    element = _blinded(1)[0].element.hex()
    too_many = await _evaluate(client, holder, version, [element] * 10_001)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "elements"
    for other in (1, 99):  # version 1 is HMAC; 99 does not exist
        refused = await _evaluate(client, holder, other, [element])
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"] == [
            {"index": None, "field": "key_version", "message": "not a live OPRF key version"}
        ]
    empty = await _evaluate(client, holder, version, [])
    assert empty.status_code == 422


async def test_a_version_made_elsewhere_just_after_a_reading_is_served_at_once(
    app: FastAPI, client: httpx.AsyncClient, buyer: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker has just read its key ring (its 30 s reading, say) when another process makes an
    OPRF version current: requests naming it wait for a fresh reading, one for all of them, rather
    than being refused for the rest of the second; a version that does not exist is still 422."""
    await reload_keyring(app)
    async with app.state.sessionmaker() as session:
        version = (await rotate(session, None, Scheme.OPRF)).version
        await session.commit()
    reads = 0
    real = load_keyring

    async def counted(*args: object) -> KeyRing:
        nonlocal reads
        reads += 1
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(deps, "load_keyring", counted)
    element = _blinded(1)[0].element.hex()
    answers = await asyncio.gather(
        *(_evaluate(client, buyer, version, [element]) for _ in range(8))
    )
    assert [answer.status_code for answer in answers] == [200] * 8
    assert reads == 1
    unknown = await _evaluate(client, buyer, version + 1, [element])
    assert unknown.status_code == 422


async def test_evaluations_are_counted_per_organisation_and_held_to_its_quota(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: Caller,
    holder: Caller,
    buyer: Caller,
    caplog: pytest.LogCaptureFixture,
) -> None:
    version = await _rotate(client, admin, OPRF)
    quota = await client.put(
        f"/v1/admin/orgs/{holder.org_id}/evaluation-quota",
        json={"monthly_evaluations": 5},
        headers=admin.headers,
    )
    assert quota.status_code == 200, quota.text
    assert quota.json() == {"org_id": holder.org_id, "monthly_evaluations": 5, "effective": 5}
    elements = [b.element.hex() for b in _blinded(3)]
    assert (await _evaluate(client, holder, version, elements)).status_code == 200
    with caplog.at_level(logging.DEBUG):
        over = await _evaluate(client, holder, version, elements)
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    assert int(over.headers["Retry-After"]) > 0
    assert all(element not in caplog.text for element in elements)
    assert (await _evaluate(client, holder, version, elements[:2])).status_code == 200
    assert (await _evaluate(client, buyer, version, elements)).status_code == 200  # its own
    period = "?from=2000-01-01&to=2999-01-01"
    mine = (await client.get(f"/v1/usage/me{period}", headers=holder.headers)).json()["rows"]
    assert mine[0]["evaluations"] == 5
    by_holder = await client.get(f"/v1/usage{period}&group_by=holder", headers=admin.headers)
    rows = {row["holder_id"]: row for row in by_holder.json()["rows"]}
    assert rows[holder.org_id]["evaluations"] == 5
    assert rows[holder.org_id]["requests"] == 0  # evaluations are not verify requests
    by_buyer = await client.get(f"/v1/usage{period}&group_by=buyer,day", headers=admin.headers)
    assert [row["evaluations"] for row in by_buyer.json()["rows"]] == [3]
    everyone = (await client.get(f"/v1/usage{period}", headers=admin.headers)).json()["rows"]
    assert everyone[0]["evaluations"] == 8
    assert everyone[0]["billable_records"] == 0
    # Back to the default: the allowance, or 10 x the holder's records when that is more.
    reset = await client.put(
        f"/v1/admin/orgs/{holder.org_id}/evaluation-quota",
        json={"monthly_evaluations": None},
        headers=admin.headers,
    )
    assert reset.json()["monthly_evaluations"] is None
    assert reset.json()["effective"] == 100  # the allowance of this module's settings
    assert (await _evaluate(client, holder, version, elements)).status_code == 200
    not_client = await client.put(
        f"/v1/admin/orgs/{admin.org_id}/evaluation-quota",
        json={"monthly_evaluations": 1},
        headers=admin.headers,
    )
    assert not_client.status_code == 409
    async with app.state.sessionmaker() as session:
        actions = list(await session.scalars(sa.select(AuditEvent.action)))
    assert actions.count("evaluation_quota.set") == 1
    assert actions.count("evaluation_quota.reset") == 1


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"evaluation_allowance": 100}


async def test_a_holders_default_quota_grows_with_its_records(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    """Allowance 100 here: a holder with 12 records may make 12 x PER_RECORD (60) evaluations a
    month; a buyer with a verify quota of 2 records may make 2 x PER_RECORD."""
    version, key = await signing_key(client, holder)
    dataset = await new_dataset(client, holder)
    lines = []
    for number in range(12):
        signed = sign_record(PERSON | {"email": f"p{number}@exemple.fr"}, key)
        lines.append(
            {
                "external_id": f"r{number}",
                "updated_at": "2026-01-01",
                "key_version": version,
                "signatures": signed.signatures,
            }
        )
    uploaded = await client.post(
        f"/v1/datasets/{dataset}/records", json={"records": lines}, headers=holder.headers
    )
    assert uploaded.status_code == 200, uploaded.text
    oprf_version = await _rotate(client, admin, OPRF)
    element = _blinded(1)[0].element.hex()
    assert (await _evaluate(client, holder, oprf_version, [element] * 700)).status_code == 200
    assert (await _evaluate(client, holder, oprf_version, [element] * 20)).status_code == 200
    assert (await _evaluate(client, holder, oprf_version, [element])).status_code == 429
    await client.put(
        f"/v1/admin/orgs/{buyer.org_id}/quota", json={"monthly_records": 2}, headers=admin.headers
    )
    allowed = await client.put(
        f"/v1/admin/orgs/{buyer.org_id}/evaluation-quota",
        json={"monthly_evaluations": None},
        headers=admin.headers,
    )
    assert allowed.json()["effective"] == 2 * PER_RECORD == 120


async def test_raw_verify_matches_records_of_both_schemes_and_counts_a_holder_once(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    """One holder signs with HMAC (v1), another blind (OPRF v2), a third under both: a raw
    verify finds each, and each holder counts once."""
    hmac_version, key = await signing_key(client, holder)
    blind_holder = await new_org(client, admin, "holder")
    oprf_version = await _rotate(client, admin, OPRF)
    secret = derive_oprf_secret(bytes.fromhex(MASTER_KEY), oprf_version)
    fields = normalize_record(PERSON).fields

    def record(external_id: str, version: int, signatures: dict[str, str]) -> dict[str, object]:
        return {
            "external_id": external_id,
            "updated_at": "2026-01-01",
            "key_version": version,
            "signatures": signatures,
        }

    # The blind holder's signatures, made the way its tools make them: blind, through the route.
    messages = {kind: canonical_message(kind, fields) for kind in oprf_sign_fields(fields, secret)}
    blinded = {kind: oprf.blind(message) for kind, message in messages.items()}
    answer = await _evaluate(
        client, blind_holder, oprf_version, [b.element.hex() for b in blinded.values()]
    )
    evaluated = [bytes.fromhex(e) for e in answer.json()["evaluated"]]
    blind_signatures = {
        kind: oprf.finalize(messages[kind], blinded[kind].blind, element)[:16].hex()
        for kind, element in zip(blinded, evaluated, strict=True)
    }
    assert blind_signatures == oprf_sign_fields(fields, secret)
    for caller, records in (
        (holder, [record("h", hmac_version, sign_fields(fields, key))]),
        (blind_holder, [record("b", oprf_version, blind_signatures)]),
    ):
        dataset = await new_dataset(client, caller)
        uploaded = await client.post(
            f"/v1/datasets/{dataset}/records", json={"records": records}, headers=caller.headers
        )
        assert uploaded.status_code == 200, uploaded.text
    verified = await client.post(
        "/v1/verify", json={"purpose": "kyc", "records": [PERSON]}, headers=buyer.headers
    )
    result = verified.json()["results"][0]
    assert result["verdict"] == "verified"
    assert {kind: check["sources"] for kind, check in result["checks"].items()} == dict.fromkeys(
        blind_signatures, 2
    )
    # Signed verify: the buyer's record under both versions at once, billed once.
    signed = {
        "key_version": oprf_version,
        "signatures": blind_signatures,
        "other_versions": [{"key_version": hmac_version, "signatures": sign_fields(fields, key)}],
    }
    answer = await client.post(
        "/v1/verify/signed", json={"purpose": "kyc", "records": [signed]}, headers=buyer.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["checks"]["email"]["sources"] == 2
    assert answer.json()["usage"]["billable_records"] == 1
    unknown = signed | {"other_versions": [{"key_version": 99, "signatures": {}}]}
    refused = await client.post(
        "/v1/verify/signed", json={"purpose": "kyc", "records": [unknown]}, headers=buyer.headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"index": 0, "field": "other_versions.0.key_version", "message": "unknown key version"}
    ]
