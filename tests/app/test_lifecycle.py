"""The privacy lifecycle through HTTP: objections, erasure, retention."""

from datetime import timedelta
from uuid import UUID

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.services.privacy import purge
from app.services.sandbox import SANDBOX_DATASET_ID
from matching import signature_index
from signatures import sign_record
from signatures.dates import today
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload

ANNE = {"id": "a", "email": "Anne.Martin@Example.fr", "phone": "06 11 22 33 44",
        "last_name": "Martin", "first_name": "Anne", "birth_date": "02/03/1980"}  # fmt: skip
PROBE = {"email": "anne.martin@example.fr", "last_name": "MARTIN"}
BY_PHONE = {"phone": "+33611223344", "first_name": "anne", "last_name": "martin",
            "birth_date": "1980-03-02"}  # fmt: skip


async def _verdicts(
    client: httpx.AsyncClient, buyer: Caller, *records: dict[str, str]
) -> list[str]:
    answer = await client.post(
        "/v1/verify", json={"purpose": "p", "records": list(records)}, headers=buyer.headers
    )
    assert answer.status_code == 200, answer.text
    return [result["verdict"] for result in answer.json()["results"]]


async def _load(client: httpx.AsyncClient, holder: Caller, **kw: str) -> str:
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    assert (
        await upload(client, holder, dataset, holder_records([ANNE], key, version, **kw))
    ).status_code == 200
    return dataset


async def test_an_opt_out_by_raw_email_stops_every_match_for_every_holder(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    other = await new_org(client, admin, "holder")
    await _load(client, holder)
    await _load(client, other)
    assert await _verdicts(client, buyer, PROBE, BY_PHONE) == ["verified", "verified"]
    objected = await client.post(
        "/v1/admin/optouts", json={"email": " ANNE.MARTIN@example.FR "}, headers=admin.headers
    )
    assert objected.status_code == 204
    # Every kind of the record goes silent, whatever the buyer asks with, for both holders.
    assert await _verdicts(client, buyer, PROBE, BY_PHONE) == ["unverified", "unverified"]
    # A record uploaded later with that email is suppressed on arrival.
    late = await new_org(client, admin, "holder")
    await _load(client, late)
    assert await _verdicts(client, buyer, PROBE) == ["unverified"]
    bad = await client.post("/v1/admin/optouts", json={"email": "nope"}, headers=admin.headers)
    assert bad.status_code == 422


async def test_a_holder_forwards_an_objection_as_signatures(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    await _load(client, holder)
    version, key = await signing_key(client, holder)
    phone = sign_record({"phone": ANNE["phone"]}, key).signatures["phone"]
    forwarded = await client.post(
        "/v1/optouts",
        json={"records": [{"key_version": version, "signatures": {"phone": phone}}]},
        headers=holder.headers,
    )
    assert forwarded.status_code == 204
    assert await _verdicts(client, buyer, PROBE, BY_PHONE) == ["unverified", "unverified"]
    unknown = await client.post(
        "/v1/optouts",
        json={"records": [{"key_version": 9, "signatures": {"phone": phone}}]},
        headers=holder.headers,
    )
    assert unknown.status_code == 422


async def test_erasure_stops_a_match_at_once_and_removes_the_rows(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await _load(client, holder)
    assert await _verdicts(client, buyer, PROBE) == ["verified"]
    erased = await client.post(
        f"/v1/datasets/{dataset}/records:delete",
        json={"external_ids": ["a"]},
        headers=holder.headers,
    )
    assert erased.json() == {"deleted": 1}
    assert await _verdicts(client, buyer, PROBE) == ["unverified"]
    async with app.state.sessionmaker() as session:
        rows = await session.scalar(
            sa.select(sa.func.count()).where(signature_index.c.dataset_id != SANDBOX_DATASET_ID)
        )
    assert rows == 0


async def test_an_expired_record_stops_matching_before_any_purge(
    app: FastAPI, client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder, retention_days=30)
    version, key = await signing_key(client, holder)
    old = (today() - timedelta(days=30)).isoformat()
    recent = (today() - timedelta(days=29)).isoformat()
    bruno = {**ANNE, "id": "b", "email": "bruno@example.fr", "phone": "0611223355"}
    records = holder_records([ANNE], key, version, updated_at=old) + holder_records(
        [bruno], key, version, updated_at=recent
    )
    assert (await upload(client, holder, dataset, records)).status_code == 200
    assert await _verdicts(client, buyer, PROBE, {"email": "bruno@example.fr"}) == [
        "unverified",  # 30 days old with a 30-day retention: gone, though still stored
        "partial",
    ]
    async with app.state.sessionmaker() as session:
        purged = await purge(session)
        await session.commit()
    assert sum(purged.values()) == 1
    detail = (await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)).json()
    assert detail["records"] == 1
    assert detail["purged_records"] == 1
    assert detail["last_purge_at"] is not None


async def test_after_a_rotation_old_and_new_signatures_match_and_a_re_signed_record_counts_once(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    other = await new_org(client, admin, "holder")
    dataset = await _load(client, holder)  # signed with version 1
    rotated = await client.post("/v1/admin/key-versions", json={}, headers=admin.headers)
    assert rotated.status_code == 201
    assert rotated.json() == {"version": 2, "scheme": "hmac-sha256"}
    version, key = await signing_key(client, other)
    assert version == 2
    await _load(client, other)  # the same person, signed with version 2 by another holder
    answer = await client.post(
        "/v1/verify", json={"purpose": "p", "records": [PROBE]}, headers=buyer.headers
    )
    assert answer.json()["results"][0]["checks"]["email_name"]["sources"] == 2
    # The first holder re-signs its record with version 2: still one source for it.
    resigned = holder_records([ANNE], key, version)
    assert (await upload(client, holder, dataset, resigned)).status_code == 200
    answer = await client.post(
        "/v1/verify", json={"purpose": "p", "records": [PROBE]}, headers=buyer.headers
    )
    assert answer.json()["results"][0]["checks"]["email_name"]["sources"] == 2
    report = (await client.get("/v1/admin/key-versions", headers=admin.headers)).json()
    assert [(v["version"], v["current"], len(v["datasets"])) for v in report["versions"]] == [
        (1, False, 0),
        (2, True, 2),
    ]
    current = await client.delete("/v1/admin/key-versions/2", headers=admin.headers)
    assert current.status_code == 409
    retired = await client.delete("/v1/admin/key-versions/1", headers=admin.headers)
    assert retired.status_code == 204
    stale = holder_records([ANNE], (await signing_key(client, holder))[1], 1)
    assert (await upload(client, holder, dataset, stale)).status_code == 422  # version 1 is gone


async def test_a_version_still_in_use_cannot_be_retired(
    client: httpx.AsyncClient, admin: Caller, holder: Caller
) -> None:
    await _load(client, holder)
    await client.post("/v1/admin/key-versions", json={}, headers=admin.headers)
    in_use = await client.delete("/v1/admin/key-versions/1", headers=admin.headers)
    assert in_use.status_code == 409
    assert "live signatures" in in_use.json()["error"]["message"]


async def test_the_audit_log_says_who_did_what_and_shows_holders_their_part(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    other = await new_org(client, admin, "holder")
    dataset = await _load(client, holder)
    await _verdicts(client, buyer, PROBE, {"email": "x@example.fr"})
    await client.post(f"/v1/datasets/{dataset}/records:delete", json={"external_ids": ["a"]},
                      headers=holder.headers)  # fmt: skip
    log = (await client.get("/v1/admin/audit", headers=admin.headers)).json()["entries"]
    actions = [entry["action"] for entry in log]
    assert actions[:3] == ["records.delete", "verify.raw", "records.upload"]
    assert "org.create" in actions
    assert "key.create" in actions
    verify = log[1]
    assert verify["org_id"] == buyer.org_id
    assert verify["counts"] == {"records": 2, "billable_records": 2, "matched_records": 1}
    upload_entry = log[2]
    assert upload_entry["dataset_id"] == dataset
    key = (await signing_key(client, holder))[1]
    close_forms = sum(map(len, sign_record(ANNE, key).close.values()))
    assert close_forms > 20
    assert upload_entry["counts"] == {"records": 1, "signatures": 5, "close_forms": close_forms}
    only_buyer = await client.get(f"/v1/admin/audit?org_id={buyer.org_id}", headers=admin.headers)
    assert {e["action"] for e in only_buyer.json()["entries"]} == {"verify.raw"}
    theirs = (await client.get("/v1/audit", headers=holder.headers)).json()["entries"]
    seen = {entry["action"]: entry for entry in theirs}
    assert set(seen) == {"records.delete", "verify.raw", "records.upload", "dataset.create"}
    assert seen["verify.raw"]["org_id"] is None  # the buyer stays unnamed
    assert seen["verify.raw"]["counts"]["matched_records"] == 1
    assert (await client.get("/v1/audit", headers=other.headers)).json()["entries"] == []


def _people(prefix: str, count: int) -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{n}", "email": f"{prefix}{n}@example.fr", "last_name": f"Nom{prefix}"}
        for n in range(count)
    ]


async def test_a_snapshot_replaces_a_dataset_at_commit_and_an_abort_leaves_it_alone(
    client: httpx.AsyncClient, holder: Caller, buyer: Caller
) -> None:
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    await upload(client, holder, dataset, holder_records(_people("old", 3), key, version))
    probes = [{"email": f"{p}@example.fr"} for p in ("old0", "new0")]
    opened = await client.post(f"/v1/datasets/{dataset}/snapshots", json={}, headers=holder.headers)
    assert opened.status_code == 201
    snapshot = opened.json()["id"]
    second = await client.post(f"/v1/datasets/{dataset}/snapshots", json={}, headers=holder.headers)
    assert second.status_code == 409
    staged = await client.post(
        f"/v1/datasets/{dataset}/snapshots/{snapshot}/records",
        json={"records": holder_records(_people("new", 4), key, version)},
        headers=holder.headers,
    )
    assert staged.json()["upserted"] == 4
    assert await _verdicts(client, buyer, *probes) == ["partial", "unverified"]  # not yet
    committed = await client.post(
        f"/v1/datasets/{dataset}/snapshots/{snapshot}/commit", json={}, headers=holder.headers
    )
    assert committed.json()["status"] == "committed"
    assert committed.json()["records"] == 4
    assert await _verdicts(client, buyer, *probes) == ["unverified", "partial"]
    detail = (await client.get(f"/v1/datasets/{dataset}", headers=holder.headers)).json()
    assert detail["records"] == 4
    again = await client.post(
        f"/v1/datasets/{dataset}/snapshots/{snapshot}/commit", json={}, headers=holder.headers
    )
    assert again.status_code == 409
    aborted = (await client.post(f"/v1/datasets/{dataset}/snapshots", json={},
                                 headers=holder.headers)).json()["id"]  # fmt: skip
    await client.post(
        f"/v1/datasets/{dataset}/snapshots/{aborted}/records",
        json={"records": holder_records(_people("gone", 2), key, version)},
        headers=holder.headers,
    )
    dropped = await client.delete(
        f"/v1/datasets/{dataset}/snapshots/{aborted}", headers=holder.headers
    )
    assert dropped.status_code == 204
    # Deleted is gone: the aborted snapshot is not served any more (schemathesis' use-after-free).
    for method in ("GET", "DELETE"):
        gone = await client.request(
            method, f"/v1/datasets/{dataset}/snapshots/{aborted}", headers=holder.headers
        )
        assert gone.status_code == 404
    assert await _verdicts(client, buyer, {"email": "gone0@example.fr"}, *probes) == [
        "unverified", "unverified", "partial",
    ]  # fmt: skip


async def _levels(client: httpx.AsyncClient, buyer: Caller, record: dict[str, str]) -> set[str]:
    answer = await client.post(
        "/v1/verify", json={"purpose": "p", "records": [record]}, headers=buyer.headers
    )
    assert answer.status_code == 200, answer.text
    return {check["level"] for check in answer.json()["results"][0]["checks"].values()}


async def test_close_forms_go_with_their_record_in_erasure_snapshots_opt_outs_and_retention(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    """A record's close forms are rows of the record: whatever removes or hides it removes or
    hides them, at once, and the purge deletes them."""
    typo = {**{k: v for k, v in ANNE.items() if k != "id"}, "last_name": "Martn"}
    version, key = await signing_key(client, holder)
    erased = await _load(client, holder)
    assert await _levels(client, buyer, typo) == {"exact", "close"}  # contacts exact, names close
    deleted = await client.post(
        f"/v1/datasets/{erased}/records:delete",
        json={"external_ids": ["a"]},
        headers=holder.headers,
    )
    assert deleted.json() == {"deleted": 1}
    assert await _levels(client, buyer, typo) == {"none"}

    replaced = await _load(client, holder)
    snapshot = await client.post(f"/v1/datasets/{replaced}/snapshots", headers=holder.headers)
    snapshot_id = snapshot.json()["id"]
    other = {"id": "z", "email": "zoe@example.fr", "first_name": "Zoé", "last_name": "Durand"}
    await client.post(
        f"/v1/datasets/{replaced}/snapshots/{snapshot_id}/records",
        json={"records": holder_records([other], key, version)},
        headers=holder.headers,
    )
    assert await _levels(client, buyer, typo) == {"exact", "close"}  # not committed yet
    committed = await client.post(
        f"/v1/datasets/{replaced}/snapshots/{snapshot_id}/commit", headers=holder.headers
    )
    assert committed.status_code == 200, committed.text
    assert await _levels(client, buyer, typo) == {"none"}

    expiring = await new_dataset(client, holder, retention_days=30)
    old = (today() - timedelta(days=30)).isoformat()
    await upload(client, holder, expiring, holder_records([ANNE], key, version, updated_at=old))
    assert await _levels(client, buyer, typo) == {"none"}  # expired: no close form matches
    async with app.state.sessionmaker() as session:
        await purge(session)
        await session.commit()
    async with app.state.sessionmaker() as session:
        left = await session.scalar(
            sa.select(sa.func.count())
            .select_from(signature_index)
            .where(signature_index.c.dataset_id == UUID(expiring))
        )
    assert left == 0

    await _load(client, holder)
    assert await _levels(client, buyer, typo) == {"exact", "close"}
    objected = await client.post("/v1/admin/optouts", json={"phone": ANNE["phone"]},
                                 headers=admin.headers)  # fmt: skip
    assert objected.status_code == 204
    assert await _levels(client, buyer, typo) == {"none"}
