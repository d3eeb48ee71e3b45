"""The service in process (httpx over ASGI): settings, callers, and the steps tests repeat."""

import asyncio
import os
import secrets
from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.services.admin import create_key
from app.services.admin import create_org
from app.settings import Settings
from signatures import sign_record
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database


def make_settings(database: Database, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database.url,
        "master_key": MASTER_KEY,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Caller:
    """An organisation and a key of it."""

    org_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def bootstrap_admin(app: FastAPI, name: str = "root") -> Caller:
    """What `idcheck admin create-org/create-key` do, on the app's own database."""
    async with app.state.sessionmaker() as session:
        org = await create_org(session, None, name, "admin")
        _, key = await create_key(session, None, app.state.keyring, org, "tests")
        await session.commit()
    return Caller(str(org.id), key)


async def new_org(
    client: httpx.AsyncClient, admin: Caller, role: str, name: str | None = None
) -> Caller:
    name = name or f"{role}-{secrets.token_hex(4)}"
    created = await client.post(
        "/v1/admin/orgs", json={"name": name, "role": role}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    key = await client.post(f"/v1/admin/orgs/{org_id}/keys", json={}, headers=admin.headers)
    assert key.status_code == 201, key.text
    return Caller(org_id, key.json()["key"])


async def new_dataset(client: httpx.AsyncClient, holder: Caller, **overrides: object) -> str:
    body = {"name": f"customers-{secrets.token_hex(4)}", "legal_basis": "contract", **overrides}
    created = await client.post("/v1/datasets", json=body, headers=holder.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def signing_key(client: httpx.AsyncClient, caller: Caller) -> tuple[int, bytes]:
    answer = await client.get("/v1/signing-key", headers=caller.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["version"], bytes.fromhex(body["key"])


def holder_records(
    people: list[dict[str, str]], key: bytes, version: int, *, updated_at: str = "2026-09-30"
) -> list[dict[str, object]]:
    """People signed as a holder signs them locally: R of docs/api.md, keyed by their "id", with
    the close forms of their names."""
    records = []
    for person in people:
        signed = sign_record(person, key)
        if signed.signatures:
            records.append(
                {
                    "external_id": person["id"],
                    "updated_at": person.get("updated_at", updated_at),
                    "key_version": version,
                    **signed.upload(),
                }
            )
    return records


async def upload(
    client: httpx.AsyncClient, holder: Caller, dataset_id: str, records: list[dict[str, object]]
) -> httpx.Response:
    return await client.post(
        f"/v1/datasets/{dataset_id}/records", json={"records": records}, headers=holder.headers
    )


async def db_snapshot(app: FastAPI) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: compared before and after a refused request."""
    from matching import Base

    snapshot = {}
    async with app.state.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(sa.select(table))
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


async def database_bytes(app: FastAPI, database: Database) -> bytes:
    """Everything the app's database holds, as bytes to scan: SQLite's files (the engine closed
    first, so that nothing waits in its log), or PostgreSQL's pg_dump."""
    if database.path is not None:
        await app.state.sessionmaker.kw["bind"].dispose()  # checkpoint nothing away: read all files
        files = [p for p in database.path.parent.iterdir() if p.name.startswith(database.path.name)]
        return b"".join(p.read_bytes() for p in files)
    server = make_url(POSTGRES_URL)
    process = await asyncio.create_subprocess_exec(
        "pg_dump", "-h", server.host or "127.0.0.1", "-p", str(server.port or 5432),
        "-U", server.username or "postgres", "--no-owner", database.name or "",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )  # fmt: skip
    dump, _ = await process.communicate()
    assert process.returncode == 0
    assert b"signature_index" in dump
    return dump
