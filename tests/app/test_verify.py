"""Verify: results as DESIGN.md says, in input order, with sources, last_seen and verdicts."""

from typing import Any

import httpx

from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload

DUPONT = {
    "id": "c-1",
    "email": "jean.dupont@orange.fr",
    "phone": "06 12 34 56 78",
    "first_name": "Jean",
    "last_name": "Dupont",
    "street": "12 bis av. Victor-Hugo",
    "postcode": "75016",
    "birth_date": "14/07/1975",
}
TYPO = {"last_name": "Dupond"}
MARTIN = {"id": "c-2", "email": "paul.martin@free.fr", "last_name": "Martin"}


async def _load(
    client: httpx.AsyncClient, holder: Caller, people: list[dict[str, str]], **kw: Any
) -> str:
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    answer = await upload(client, holder, dataset, holder_records(people, key, version, **kw))
    assert answer.status_code == 200, answer.text
    return dataset


async def _verify(client: httpx.AsyncClient, buyer: Caller, records: list[dict[str, Any]]) -> Any:
    answer = await client.post(
        "/v1/verify", json={"purpose": "KYC onboarding", "records": records}, headers=buyer.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_results_follow_the_design(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    await _load(client, holder, [DUPONT, MARTIN])
    body = await _verify(
        client,
        buyer,
        [
            {"ref": "exact", **{k: v for k, v in DUPONT.items() if k != "id"}},
            {"ref": "other-name", "email": "JEAN.DUPONT@orange.fr", "last_name": "Durand"},
            {"ref": "unknown", "email": "nobody@nowhere.fr", "last_name": "Personne"},
            {"ref": "invalid", "email": "not an email", "birth_date": "31/02/1990"},
            {"email": "paul.martin@free.fr", "phone": "+33 6 00 00 00 01", "last_name": "martin"},
            {
                "ref": "close",
                **{k: v for k, v in DUPONT.items() if k != "id"},
                "last_name": "Dupond",
            },
        ],
    )
    exact, other, unknown, invalid, martin, close = body["results"]
    assert exact["ref"] == "exact"
    assert exact["verdict"] == "verified"
    assert set(exact["checks"]) == {
        "email", "phone", "email_name", "phone_name", "name_address", "name_birth_date"
    }  # fmt: skip
    assert all(
        c == {"match": True, "level": "exact", "sources": 1, "last_seen": "2026-09-30"}
        for c in exact["checks"].values()
    )
    assert exact["invalid"] == []
    assert other["verdict"] == "partial"
    assert other["checks"]["email"]["match"] is True
    assert other["checks"]["email_name"] == {
        "match": False, "level": "none", "sources": 0, "last_seen": None
    }  # fmt: skip
    assert unknown["verdict"] == "unverified"
    assert set(unknown["checks"]) == {"email", "email_name"}
    assert invalid == {
        "ref": "invalid",
        "checks": {},
        "invalid": ["email", "birth_date"],
        "verdict": "invalid",
    }
    assert martin["ref"] is None
    assert martin["verdict"] == "verified"
    assert martin["checks"]["phone"]["match"] is False
    assert body["usage"].pop("event_id")
    # One letter off: every pair check is close (the given name agrees), the contacts exact; a
    # close check never verifies on its own.
    assert close["verdict"] == "partial"
    assert {kind: c["level"] for kind, c in close["checks"].items()} == {
        "email": "exact", "phone": "exact", "email_name": "close", "phone_name": "close",
        "name_address": "close", "name_birth_date": "close",
    }  # fmt: skip
    assert all(c["match"] is (c["level"] == "exact") for c in close["checks"].values())
    assert close["checks"]["name_address"]["sources"] == 1
    assert body["usage"] == {"records": 6, "billable_records": 5, "matched_records": 4}


async def test_sources_count_distinct_holders_and_last_seen_is_the_latest(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    other = await new_org(client, admin, "holder")
    await _load(client, holder, [DUPONT], updated_at="2025-01-31")
    await _load(client, other, [DUPONT], updated_at="2026-03-01")
    await _load(client, holder, [{**DUPONT, "id": "again"}], updated_at="2024-05-05")  # same holder
    body = await _verify(client, buyer, [{"email": DUPONT["email"], "last_name": "DUPONT"}])
    check = body["results"][0]["checks"]["email_name"]
    assert check == {"match": True, "level": "exact", "sources": 2, "last_seen": "2026-03-01"}


async def test_signed_verify_answers_like_raw_verify(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    await _load(client, holder, [DUPONT, MARTIN])
    version, key = await signing_key(client, buyer)
    raw = [
        {"ref": "a", "email": "jean.dupont@orange.fr", "last_name": "Dupont"},
        {"ref": "b", "phone": "0612345678"},
    ]
    from signatures import sign_record

    signed = [
        {"ref": r["ref"], "key_version": version, "signatures": sign_record(r, key).signatures}
        for r in raw
    ]
    by_raw = await _verify(client, buyer, raw)
    answer = await client.post(
        "/v1/verify/signed",
        json={"purpose": "fraud check", "records": signed},
        headers=buyer.headers,
    )
    assert answer.status_code == 200, answer.text
    signed_answer = answer.json()
    assert signed_answer["usage"].pop("event_id") != by_raw["usage"].pop("event_id")
    assert signed_answer == by_raw
