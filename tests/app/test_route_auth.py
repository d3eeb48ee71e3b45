"""Every route of app.routes, called with no key and with each role's key: 401/403 (docs/api.md).

A route missing from AUDIENCE fails this test: a new route must say who may call it.
"""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from app.console.web import CONSOLE
from schemas.vocabulary import Role
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import new_org

PUBLIC = frozenset({"anyone"})
ROLES = tuple(Role)
AUDIENCE: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/v1/signing-key"): frozenset({"holder", "buyer"}),
    ("GET", "/v1/signing-keys"): frozenset({"holder", "buyer"}),
    ("GET", "/v1/key-versions/current"): frozenset({"holder", "buyer"}),
    ("POST", "/v1/oprf/evaluate"): frozenset({"holder", "buyer"}),
    ("POST", "/v1/admin/orgs"): frozenset({"admin"}),
    ("GET", "/v1/admin/orgs"): frozenset({"admin"}),
    ("POST", "/v1/admin/orgs/{org_id}/keys"): frozenset({"admin"}),
    ("GET", "/v1/admin/orgs/{org_id}/keys"): frozenset({"admin"}),
    ("DELETE", "/v1/admin/keys/{key_id}"): frozenset({"admin"}),
    ("PUT", "/v1/admin/orgs/{org_id}/quota"): frozenset({"admin"}),
    ("GET", "/v1/admin/orgs/{org_id}/quota"): frozenset({"admin"}),
    ("PUT", "/v1/admin/orgs/{org_id}/evaluation-quota"): frozenset({"admin"}),
    ("POST", "/v1/admin/optouts"): frozenset({"admin"}),
    ("POST", "/v1/optouts"): frozenset({"holder"}),
    ("GET", "/v1/admin/key-versions"): frozenset({"admin"}),
    ("POST", "/v1/admin/key-versions"): frozenset({"admin"}),
    ("DELETE", "/v1/admin/key-versions/{version}"): frozenset({"admin"}),
    ("GET", "/v1/admin/audit"): frozenset({"admin"}),
    ("GET", "/v1/audit"): frozenset({"holder"}),
    ("POST", "/v1/datasets/{dataset_id}/snapshots"): frozenset({"holder"}),
    ("GET", "/v1/datasets/{dataset_id}/snapshots/{snapshot_id}"): frozenset({"holder"}),
    ("POST", "/v1/datasets/{dataset_id}/snapshots/{snapshot_id}/records"): frozenset({"holder"}),
    ("POST", "/v1/datasets/{dataset_id}/snapshots/{snapshot_id}/commit"): frozenset({"holder"}),
    ("DELETE", "/v1/datasets/{dataset_id}/snapshots/{snapshot_id}"): frozenset({"holder"}),
    ("POST", "/v1/datasets"): frozenset({"holder"}),
    ("GET", "/v1/datasets"): frozenset({"holder"}),
    ("GET", "/v1/datasets/{dataset_id}"): frozenset({"holder"}),
    ("DELETE", "/v1/datasets/{dataset_id}"): frozenset({"holder"}),
    ("POST", "/v1/datasets/{dataset_id}/records"): frozenset({"holder"}),
    ("POST", "/v1/datasets/{dataset_id}/records:delete"): frozenset({"holder"}),
    ("POST", "/v1/verify"): frozenset({"buyer"}),
    ("POST", "/v1/verify/signed"): frozenset({"buyer"}),
    ("GET", "/v1/usage"): frozenset({"finance", "admin"}),
    ("GET", "/v1/usage/me"): frozenset({"holder", "buyer"}),
}


def _endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """Every route but the console's pages and their style sheet, which sign in with a session,
    not a key: tests/app/test_console.py walks them with every role the same way."""
    found = []
    for route in app.routes:
        if getattr(route, "path", "").startswith(CONSOLE):
            continue
        assert isinstance(route, APIRoute | Route), f"unexpected route object {route!r}"
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


async def test_every_route_checks_the_key_and_the_role(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    callers = {"admin": admin}
    for other in ROLES[1:]:
        callers[other] = await new_org(client, admin, other)
    endpoints = _endpoints(app)
    assert set(endpoints) == set(AUDIENCE), "a route without a declared audience, or a stale one"
    for method, path in endpoints:
        url = path.format(
            org_id=uuid.uuid4(),
            key_id=uuid.uuid4(),
            dataset_id=uuid.uuid4(),
            snapshot_id=uuid.uuid4(),
            version=999,
        )
        audience = AUDIENCE[(method, path)]
        anonymous = await client.request(method, url, json={})
        if audience == PUBLIC:
            assert anonymous.status_code not in (401, 403), (method, path)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "unauthenticated"
        for role, caller in callers.items():
            answer = await client.request(method, url, json={}, headers=caller.headers)
            if role in audience:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer idc_buyer_" + "0" * 40,  # well formed, unknown
        "Bearer idc_buyer_xyz",  # malformed
        "Bearer idc_root_" + "0" * 40,  # no such role
        "bearer  idc_holder_" + "f" * 39,  # one character short
    ],
)
async def test_unknown_malformed_and_missing_keys_get_the_same_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await client.get("/v1/datasets", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json() == {
        "error": {
            "code": "unauthenticated",
            "message": "a valid API key is required: Authorization: Bearer idc_...",
            "details": [],
            "request_id": answer.headers["x-request-id"],
        }
    }


async def test_a_revoked_key_stops_at_once_with_the_same_401(
    client: httpx.AsyncClient, admin: Caller, holder: Caller
) -> None:
    assert (await client.get("/v1/datasets", headers=holder.headers)).status_code == 200
    keys = await client.get(f"/v1/admin/orgs/{holder.org_id}/keys", headers=admin.headers)
    (key,) = keys.json()["keys"]
    assert holder.key.startswith(key["prefix"])
    assert holder.key not in keys.text
    revoked = await client.delete(f"/v1/admin/keys/{key['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    answer = await client.get("/v1/datasets", headers=holder.headers)
    unknown = await client.get("/v1/datasets", headers={"Authorization": "Bearer idc_x"})
    assert answer.status_code == 401
    revoked_error, unknown_error = answer.json()["error"], unknown.json()["error"]
    assert revoked_error.pop("request_id") != unknown_error.pop("request_id")  # each its own
    assert revoked_error == unknown_error


async def test_an_admin_cannot_revoke_the_key_it_calls_with(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    keys = await client.get(f"/v1/admin/orgs/{admin.org_id}/keys", headers=admin.headers)
    (own,) = keys.json()["keys"]
    refused = await client.delete(f"/v1/admin/keys/{own['id']}", headers=admin.headers)
    assert refused.status_code == 409
    assert (await client.get("/v1/admin/orgs", headers=admin.headers)).status_code == 200


async def test_a_key_in_the_query_string_is_refused(
    client: httpx.AsyncClient, holder: Caller
) -> None:
    answer = await client.get(f"/v1/datasets?api_key={holder.key}", headers=holder.headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "api_key_in_query"


async def test_keys_name_their_role_and_hold_enough_randomness(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    for role in ROLES:
        caller = await new_org(client, admin, role)
        prefix, random_part = caller.key.rsplit("_", 1)
        assert prefix == f"idc_{role}"
        assert len(random_part) * 4 >= 128
