"""The sandbox (docs/sandbox.md): test keys get the documented answers, are never billed, and
neither see nor touch live data; live keys never match the sandbox."""

from typing import Any

import httpx
import pytest

from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload

CAMILLE = {
    "email": "camille.martin@example.com",
    "phone": "+33 1 99 00 00 01",
    "first_name": "Camille",
    "last_name": "Martin",
    "street": "12 rue de la Paix",
    "postcode": "75002",
    "country": "FR",
    "birth_date": "1985-04-12",
}
#: docs/sandbox.md's table, written out again here: (record sent, verdict, {kind: match},
#: last_seen of the matches, invalid fields).
DOCUMENTED: list[tuple[dict[str, str], str, dict[str, bool], str | None, list[str]]] = [
    (CAMILLE, "verified", dict.fromkeys(
        ("email", "phone", "email_name", "phone_name", "name_address", "name_birth_date"), True
    ), "2026-11-02", []),
    ({"email": "Camille.Martin@EXAMPLE.com", "last_name": "Durand"}, "partial",
     {"email": True, "email_name": False}, "2026-11-02", []),
    ({"phone": "01 99 00 00 02", "last_name": "BERNARD"}, "verified",
     {"phone": True, "phone_name": True}, "2025-06-30", []),
    ({"first_name": "INES", "last_name": "LEFEVRE", "street": "3, place Bellecour",
      "postcode": "69002", "birth_date": "30/09/1992"}, "verified",
     {"name_address": True, "name_birth_date": True}, "2026-03-15", []),
    ({"email": "nobody@example.com"}, "unverified", {"email": False}, None, []),
    ({"email": "not-an-email"}, "invalid", {}, None, ["email"]),
]  # fmt: skip


async def _test_key(client: httpx.AsyncClient, admin: Caller, org: Caller) -> Caller:
    made = await client.post(
        f"/v1/admin/orgs/{org.org_id}/keys", json={"test": True}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert made.json()["test"] is True
    assert key.startswith(f"idc_{key.split('_')[1]}_test_")
    return Caller(org.org_id, key)


async def _verify(client: httpx.AsyncClient, caller: Caller, records: list[Any]) -> Any:
    answer = await client.post(
        "/v1/verify", json={"purpose": "sandbox", "records": records}, headers=caller.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_test_key_gets_the_documented_answers_and_is_never_billed(
    client: httpx.AsyncClient, admin: Caller, buyer: Caller
) -> None:
    finance = await new_org(client, admin, "finance")
    quota = await client.put(
        f"/v1/admin/orgs/{buyer.org_id}/quota", json={"monthly_records": 1}, headers=admin.headers
    )
    assert quota.status_code == 200
    test_buyer = await _test_key(client, admin, buyer)
    answer = await _verify(client, test_buyer, [record for record, *_ in DOCUMENTED])
    for result, (_, verdict, checks, last_seen, invalid) in zip(
        answer["results"], DOCUMENTED, strict=True
    ):
        assert result["verdict"] == verdict, result
        assert {kind: c["match"] for kind, c in result["checks"].items()} == checks, result
        assert {c["last_seen"] for c in result["checks"].values() if c["match"]} <= {last_seen}
        assert all(c["sources"] == int(c["match"]) for c in result["checks"].values())
        assert result["invalid"] == invalid
    assert answer["usage"]["billable_records"] == 5  # over the quota of 1: a test key is not held
    # Finance's billable totals hold none of it; the test view holds it all, marked test.
    billable = await client.get("/v1/usage?group_by=buyer", headers=finance.headers)
    assert billable.json()["rows"] == []
    tested = (
        await client.get("/v1/usage?group_by=buyer&test=true", headers=finance.headers)
    ).json()
    assert tested["test"] is True
    assert [(r["buyer_id"], r["billable_records"]) for r in tested["rows"]] == [(buyer.org_id, 5)]
    # The buyer's live key sees no billable usage, and its whole quota left.
    live = (await client.get("/v1/usage/me", headers=buyer.headers)).json()
    assert live["test"] is False
    assert live["rows"][0]["billable_records"] == 0
    assert live["quota"]["used_records"] == 0
    assert live["quota"]["remaining_records"] == 1
    mine = (await client.get("/v1/usage/me", headers=test_buyer.headers)).json()
    assert (mine["test"], mine["quota"], mine["rows"][0]["billable_records"]) == (True, None, 5)


async def test_test_keys_and_live_keys_never_see_each_others_data(
    client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    # A live holder holds Camille too, and Paul, whom the sandbox does not hold.
    paul = {"email": "paul.durand@exemple.fr", "last_name": "Durand"}
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    records = holder_records([CAMILLE | {"id": "c"}, paul | {"id": "p"}], key, version)
    assert (await upload(client, holder, dataset, records)).status_code == 200
    test_buyer = await _test_key(client, admin, buyer)
    live = await _verify(client, buyer, [CAMILLE, paul])
    assert [c["sources"] for c in live["results"][0]["checks"].values()] == [1] * 6
    assert live["results"][1]["verdict"] == "verified"
    sandbox = await _verify(client, test_buyer, [CAMILLE, paul])
    assert [c["sources"] for c in sandbox["results"][0]["checks"].values()] == [1] * 6
    assert sandbox["results"][1]["verdict"] == "unverified"  # live data does not answer
    # A test holder key reads the sandbox's dataset and nothing else, and writes nothing.
    test_holder = await _test_key(client, admin, holder)
    listed = (await client.get("/v1/datasets", headers=test_holder.headers)).json()
    assert [d["name"] for d in listed["datasets"]] == ["sandbox"]
    sandbox_id = listed["datasets"][0]["id"]
    detail = (await client.get(f"/v1/datasets/{sandbox_id}", headers=test_holder.headers)).json()
    assert detail["records"] == 3
    mine = await client.get(f"/v1/datasets/{dataset}", headers=test_holder.headers)
    assert mine.status_code == 404
    theirs = await client.get(f"/v1/datasets/{sandbox_id}", headers=holder.headers)
    assert theirs.status_code == 404
    for method, path, body in [
        ("POST", "/v1/datasets", {"name": "x", "legal_basis": "contract"}),
        ("DELETE", f"/v1/datasets/{sandbox_id}", None),
        ("POST", f"/v1/datasets/{sandbox_id}/records:delete", {"external_ids": ["sandbox-1"]}),
        ("GET", "/v1/audit", None),
    ]:
        refused = await client.request(method, path, json=body, headers=test_holder.headers)
        assert refused.status_code == 403, (method, path)
        assert refused.json()["error"]["code"] == "sandbox_only"


@pytest.mark.parametrize("role", ["admin", "finance"])
async def test_test_keys_are_for_holders_and_buyers(
    client: httpx.AsyncClient, admin: Caller, role: str
) -> None:
    org = admin if role == "admin" else await new_org(client, admin, role)
    refused = await client.post(
        f"/v1/admin/orgs/{org.org_id}/keys", json={"test": True}, headers=admin.headers
    )
    assert refused.status_code == 409


async def test_the_sandbox_follows_a_rotation(
    client: httpx.AsyncClient, admin: Caller, buyer: Caller
) -> None:
    test_buyer = await _test_key(client, admin, buyer)
    rotated = await client.post("/v1/admin/key-versions", json={}, headers=admin.headers)
    assert rotated.status_code == 201
    old = rotated.json()["version"] - 1
    retired = await client.delete(f"/v1/admin/key-versions/{old}", headers=admin.headers)
    assert retired.status_code == 204  # the sandbox never holds a version back
    answer = await _verify(client, test_buyer, [CAMILLE])
    assert answer["results"][0]["verdict"] == "verified"
