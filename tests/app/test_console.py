"""The console's security, in process on each backend: sign-in and its session (cookie flags,
expiry, sign-out, a revoked key), CSRF on every form, each page's roles (walked with every
role, as the API's route x role test), a holder's dataset hidden from another, and no raw value
of a console verify in the store or the log."""

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.models import ConsoleSession
from tests.helpers.console import csrf_of
from tests.helpers.console import sign_in
from tests.helpers.databases import Database
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import database_bytes
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import new_org


@asynccontextmanager
async def _browser(
    app: FastAPI, base: str = "http://idcheck.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own, as one browser."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        yield client


async def _signed_in(app: FastAPI, caller: Caller) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idcheck.test"
    )
    answer = await sign_in(client, caller.key)
    assert answer.status_code == 303, answer.text
    return client


async def test_a_key_opens_a_session_whose_cookie_holds_no_key(app: FastAPI, buyer: Caller) -> None:
    async with _browser(app) as browser:
        refused = await sign_in(browser, "idc_buyer_" + "0" * 40)
        assert refused.status_code == 401
        assert "not a valid API key" in refused.text
        assert "idcheck_session" not in browser.cookies
        answer = await sign_in(browser, buyer.key)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/"
        [cookie] = [
            c for c in answer.headers.get_list("set-cookie") if c.startswith("idcheck_session=")
        ]
        assert buyer.key not in cookie
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "samesite=strict", "path=/console", "max-age=1800"} <= flags
        assert "secure" not in flags  # plain HTTP here: Secure would lose the cookie
        home = await browser.get("/console/", follow_redirects=True)
        assert home.status_code == 200
        assert str(home.url).endswith("/console/usage")
        for name, value in {
            "content-security-policy": "default-src 'none'",
            "x-frame-options": "DENY",
            "cache-control": "no-store",
        }.items():
            assert home.headers[name].startswith(value)
    async with _browser(app, "https://idcheck.test") as browser:
        answer = await sign_in(browser, buyer.key)
        [cookie] = [
            c for c in answer.headers.get_list("set-cookie") if c.startswith("idcheck_session=")
        ]
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}


async def test_no_session_no_page_and_an_expired_one_asks_to_sign_in_again(
    app: FastAPI, holder: Caller
) -> None:
    async with _browser(app) as browser:
        for path in ("/console/datasets", "/console/admin/orgs", "/console/finance"):
            answer = await browser.get(path, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/sign-in"
        form = await browser.post("/console/verify", files={"file": ("a.csv", b"email\n" * 1000)})
        assert form.status_code == 401  # before the form is read
        assert "unauthenticated" in form.text
        browser.cookies.set("idcheck_session", "made-up-token", path="/console")
        assert (await browser.get("/console/datasets")).status_code == 303
        await sign_in(browser, holder.key)
        assert (await browser.get("/console/datasets")).status_code == 200
        async with app.state.sessionmaker() as session:
            await session.execute(
                sa.update(ConsoleSession).values(
                    expires_at=datetime.now(UTC) - timedelta(seconds=1)
                )
            )
            await session.commit()
        expired = await browser.get("/console/datasets", follow_redirects=False)
        assert expired.status_code == 303
        assert expired.headers["location"] == "/console/sign-in"


async def test_signing_out_or_revoking_the_key_ends_the_session(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, buyer: Caller
) -> None:
    async with _browser(app) as browser:
        await sign_in(browser, buyer.key)
        page = await browser.get("/console/usage")
        token = browser.cookies["idcheck_session"]
        out = await browser.post(
            "/console/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False
        )
        assert out.status_code == 303
        browser.cookies.set("idcheck_session", token, path="/console")  # a copy kept
        assert (await browser.get("/console/usage")).status_code == 303
    async with _browser(app) as browser:
        await sign_in(browser, buyer.key)
        first = browser.cookies["idcheck_session"]
        await sign_in(browser, buyer.key)  # signing in again ends the session before
        assert browser.cookies["idcheck_session"] != first
        async with _browser(app) as other:
            other.cookies.set("idcheck_session", first, path="/console")
            assert (await other.get("/console/usage")).status_code == 303
        assert (await browser.get("/console/usage")).status_code == 200
        keys = await client.get(f"/v1/admin/orgs/{buyer.org_id}/keys", headers=admin.headers)
        revoked = await client.delete(
            f"/v1/admin/keys/{keys.json()['keys'][0]['id']}", headers=admin.headers
        )
        assert revoked.status_code == 204
        assert (await browser.get("/console/usage")).status_code == 303


async def test_every_form_needs_its_sessions_csrf_token(
    app: FastAPI, admin: Caller, buyer: Caller
) -> None:
    async with _browser(app) as browser:
        form = await browser.get("/console/sign-in")
        no_token = await browser.post("/console/sign-in", data={"key": buyer.key})
        assert no_token.status_code == 403
        wrong = await browser.post("/console/sign-in", data={"key": buyer.key, "csrf": "x" * 32})
        assert wrong.status_code == 403
        assert "csrf" in wrong.text.lower()
        assert form.status_code == 200
    async with _browser(app) as other:
        await sign_in(other, buyer.key)
        foreign = csrf_of((await other.get("/console/usage")).text)
    async with _browser(app) as browser:
        await sign_in(browser, admin.key)
        own = csrf_of((await browser.get("/console/admin/orgs")).text)
        for token in (None, "", "0" * 64, foreign):
            data = {"name": "made without a token", "role": "buyer"}
            if token is not None:
                data["csrf"] = token
            refused = await browser.post("/console/admin/orgs", data=data)
            assert refused.status_code == 403, token
            assert "CSRF" in refused.text
        made = await browser.post(
            "/console/admin/orgs",
            data={"name": "made with its token", "role": "buyer", "csrf": own},
            follow_redirects=False,
        )
        assert made.status_code == 303
        listed = await browser.get("/console/admin/orgs")
        assert "made with its token" in listed.text
        key = "/console/admin/keys/00000000-0000-4000-8000-000000000000/revoke"
        garbled = await browser.post(key, data={"csrf": own, "org_id": "not an id"})
        assert garbled.status_code == 422  # a clear refusal, nothing revoked
        assert "org_id" in garbled.text
        assert "made without a token" not in listed.text


#: Every console page and who may see it (with a live key). A page missing here fails the walk.
AUDIENCE: dict[tuple[str, str], set[str]] = {
    ("GET", "/console/datasets"): {"holder"},
    ("GET", "/console/datasets/{dataset_id}"): {"holder"},
    ("GET", "/console/opt-outs"): {"holder"},
    ("GET", "/console/earnings"): {"holder"},
    ("GET", "/console/usage"): {"buyer"},
    ("GET", "/console/keys"): {"buyer"},
    ("GET", "/console/verify"): {"buyer"},
    ("POST", "/console/verify"): {"buyer"},
    ("GET", "/console/finance"): {"finance", "admin"},
    ("GET", "/console/admin/orgs"): {"admin"},
    ("POST", "/console/admin/orgs"): {"admin"},
    ("GET", "/console/admin/orgs/{org_id}"): {"admin"},
    ("POST", "/console/admin/orgs/{org_id}/keys"): {"admin"},
    ("POST", "/console/admin/keys/{key_id}/revoke"): {"admin"},
    ("POST", "/console/admin/orgs/{org_id}/quota"): {"admin"},
    ("GET", "/console/admin/key-versions"): {"admin"},
    ("POST", "/console/admin/key-versions"): {"admin"},
    ("POST", "/console/admin/key-versions/{version}/retire"): {"admin"},
    ("GET", "/console/admin/audit"): {"admin"},
}
#: Pages for anyone, signed in or not.
OPEN = {("GET", "/console/"), ("GET", "/console/sign-in"), ("POST", "/console/sign-in")}
ROLES = ("admin", "holder", "buyer", "finance")


def _console_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/console")
        for method in route.methods or ()
    } - {("POST", "/console/sign-out")}


async def test_every_page_lets_in_its_roles_only(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    assert _console_routes(app) == set(AUDIENCE) | OPEN
    callers = {role: await new_org(client, admin, role) for role in ROLES[1:]} | {"admin": admin}
    dataset = await new_dataset(client, callers["holder"])
    filled = {
        "{dataset_id}": dataset,
        "{org_id}": callers["buyer"].org_id,
        "{key_id}": "00000000-0000-4000-8000-000000000000",
        "{version}": "99",
    }
    for role, caller in callers.items():
        browser = await _signed_in(app, caller)
        try:
            csrf = csrf_of((await browser.get("/console/", follow_redirects=True)).text)
            for (method, path), allowed in AUDIENCE.items():
                url = path
                for name, value in filled.items():
                    url = url.replace(name, value)
                answer = await browser.request(
                    method, url, data={"csrf": csrf} if method == "POST" else None
                )
                if role in allowed:
                    assert answer.status_code not in (401, 403), (role, method, path)
                else:
                    assert answer.status_code == 403, (role, method, path, answer.status_code)
                    assert "this page is for" in answer.text
        finally:
            await browser.aclose()


async def test_a_holder_cannot_see_another_holders_dataset_nor_a_buyer_finance(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, holder: Caller, buyer: Caller
) -> None:
    other = await new_org(client, admin, "holder")
    theirs = await new_dataset(client, other, name="their customers")
    mine = await new_dataset(client, holder, name="my customers")
    browser = await _signed_in(app, holder)
    try:
        assert (await browser.get(f"/console/datasets/{mine}")).status_code == 200
        hidden = await browser.get(f"/console/datasets/{theirs}")
        assert hidden.status_code == 404
        assert "their customers" not in hidden.text
        listed = await browser.get("/console/datasets")
        assert "my customers" in listed.text
        assert "their customers" not in listed.text
    finally:
        await browser.aclose()
    browser = await _signed_in(app, buyer)
    try:
        assert (await browser.get("/console/finance")).status_code == 403
    finally:
        await browser.aclose()


SENTINEL = {
    "email": "sentinel.console@exemple.fr",
    "phone": "06 91 82 73 64",
    "last_name": "Zzyzxsentinel",
}


async def test_a_console_verify_is_billed_and_leaves_no_raw_value(
    app: FastAPI,
    buyer: Caller,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = await _signed_in(app, buyer)
    try:
        csrf = csrf_of((await browser.get("/console/verify")).text)
        rows = "ref;email;phone;last_name\nc1;{email};{phone};{last_name}\n".format(**SENTINEL)
        no_purpose = await browser.post("/console/verify", data={"csrf": csrf, "rows": rows})
        assert no_purpose.status_code == 422
        assert "purpose" in no_purpose.text
        answer = await browser.post(
            "/console/verify", data={"csrf": csrf, "rows": rows, "purpose": "console test"}
        )
        assert answer.status_code == 200, answer.text
        assert "unverified" in answer.text
        too_many = "email\n" + "".join(f"p{i}@exemple.fr\n" for i in range(101))
        refused = await browser.post(
            "/console/verify", data={"csrf": csrf, "rows": too_many, "purpose": "p"}
        )
        assert refused.status_code == 422
        assert "at most 100 rows" in refused.text
        usage = await browser.get("/console/usage")
    finally:
        await browser.aclose()
    assert re.search(r"Used</dt><dd>1</dd>", usage.text)
    shown = answer.text + usage.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    stored = await database_bytes(app, database)
    for value in (*SENTINEL.values(), "91 82 73 64", "sentinel", "zzyzxsentinel", "+33691827364"):
        assert value not in shown, value
        assert value not in logged, value
        assert value.encode() not in stored, value


async def test_a_test_key_sees_its_sandbox_side_and_nothing_live(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, buyer: Caller, holder: Caller
) -> None:
    """A buyer's test key verifies against the sandbox (docs/sandbox.md: Camille is there) and
    sees it as test usage, never billed; a holder's test key sees the sandbox's dataset; pages
    with nothing of the sandbox are 403 sandbox_only."""
    keys = {}
    for org in (buyer, holder):
        made = await client.post(
            f"/v1/admin/orgs/{org.org_id}/keys", json={"test": True}, headers=admin.headers
        )
        keys[org.org_id] = Caller(org.org_id, made.json()["key"])
    browser = await _signed_in(app, keys[buyer.org_id])
    try:
        csrf = csrf_of((await browser.get("/console/verify")).text)
        rows = "ref,email\ns1,camille.martin@example.com\n"
        answer = await browser.post(
            "/console/verify", data={"csrf": csrf, "rows": rows, "purpose": "trying the sandbox"}
        )
        assert answer.status_code == 200, answer.text
        assert "partial" in answer.text
        usage = await browser.get("/console/usage")
        assert "never billed" in usage.text
        refused = await browser.get("/console/keys")
        assert refused.status_code == 403
        assert "sandbox_only" in refused.text
    finally:
        await browser.aclose()
    live = await client.get("/v1/usage/me", headers=buyer.headers)
    assert live.json()["quota"]["used_records"] == 0
    browser = await _signed_in(app, keys[holder.org_id])
    try:
        datasets = await browser.get("/console/datasets")
        assert "sandbox" in datasets.text.lower()
        assert (await browser.get("/console/earnings")).status_code == 403
    finally:
        await browser.aclose()
