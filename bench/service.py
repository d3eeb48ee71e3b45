"""The service against the machine's raw limits, in one run, on PostgreSQL.

1. ingest: signatures/s through HTTP (NDJSON upload until committed and queryable), beside the
   same rows loaded by raw asyncpg COPY into an identically indexed table;
2. verify: records/s in 1,000-record requests, beside raw asyncpg lookups of the same index values
   in batches of 1,000 (the ratio is counted in lookups);
3. single-record verify: requests/s and p50/p99 at a fixed concurrency, beside /healthz;
4. the peer: the same email-only membership job with openmined-psi (setup and query);
5. `idcheck sign` rows/s (bench.sign), and the server's peak memory during the largest upload.
"""

import asyncio
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.people import people
from bench.sign import TreeMemory, bench_sign
from matching import KeyRing
from matching.tables import KIND_CODES
from signatures import derive_signing_key, normalize_field, sign_record

SCALES = {
    # holders' records, buyer records verified in 1,000s, single-record requests, psi holders
    "small": {
        "holders": 200_000,
        "buyers": 20_000,
        "singles": 2_000,
        "psi": 200_000,
        "sign": 200_000,
    },
    "large": {
        "holders": 10_000_000,
        "buyers": 100_000,
        "singles": 5_000,
        "psi": 1_000_000,
        "sign": 1_000_000,
    },
}
UPLOAD_RECORDS = 500_000  # records per NDJSON request
CONCURRENCY = 16
IDCHECK = str(Path(sys.executable).with_name("idcheck"))


def _sign_chunk(args: tuple[list[dict[str, str]], bytes]) -> list[dict[str, Any]]:
    rows, key = args
    start = date(2026, 10, 1)
    out = []
    for row in rows:
        signed = sign_record(row, key).signatures
        if signed:
            updated = (start - timedelta(days=hash(row["external_id"]) % 300)).isoformat()
            out.append(
                {
                    "external_id": row["external_id"],
                    "updated_at": updated,
                    "key_version": 1,
                    "signatures": signed,
                }
            )
    return out


def signed_records(count: int, key: bytes, seed: int) -> list[dict[str, Any]]:
    rows = list(people(count, seed=seed))
    chunks = [(rows[i : i + 20_000], key) for i in range(0, len(rows), 20_000)]
    with multiprocessing.get_context("spawn").Pool() as pool:
        return [record for part in pool.map(_sign_chunk, chunks) for record in part]


@contextmanager
def server(url: str, master: str, workers: int, workdir: Path) -> Any:
    env = {
        **os.environ,
        "IDCHECK_DATABASE_URL": url,
        "IDCHECK_MASTER_KEY": master,
        "IDCHECK_ENV": "production",
        "IDCHECK_RATE_LIMIT_PER_SECOND": "0",
        "IDCHECK_LOG_LEVEL": "WARNING",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [IDCHECK, *args], env=env, cwd=workdir, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    run("migrate")
    run("admin", "create-org", "bench-admin", "--role", "admin")
    admin = run("admin", "create-key", "bench-admin")
    port = 18000 + secrets.randbelow(2000)
    process = subprocess.Popen(
        [IDCHECK, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, admin, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _org(client: httpx.Client, admin: str, role: str) -> str:
    headers = {"Authorization": f"Bearer {admin}"}
    org = client.post(
        "/v1/admin/orgs", json={"name": f"bench-{role}", "role": role}, headers=headers
    )
    key = client.post(f"/v1/admin/orgs/{org.json()['id']}/keys", json={}, headers=headers)
    return str(key.json()["key"])


def index_rows(
    records: list[dict[str, Any]], keyring: KeyRing, dataset: str, holder: str
) -> list[tuple[Any, ...]]:
    import uuid

    dataset_id, holder_id, batch = uuid.UUID(dataset), uuid.UUID(holder), uuid.uuid4()
    rows = []
    for record in records:
        key = keyring.record_key(dataset_id, record["external_id"])
        updated = date.fromisoformat(record["updated_at"])
        for kind, signature in record["signatures"].items():
            value = keyring.index_value(1, bytes.fromhex(signature))
            rows.append(
                (
                    dataset_id,
                    key,
                    KIND_CODES[kind],
                    1,
                    value,
                    holder_id,
                    updated,
                    batch,
                    updated + timedelta(days=1095),
                )
            )
    return rows


async def raw_copy(dsn: str, rows: list[tuple[Any, ...]]) -> float:
    """The same rows by asyncpg COPY into a table built and indexed like signature_index."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "CREATE TABLE raw_index (LIKE signature_index INCLUDING DEFAULTS);"
            "ALTER TABLE raw_index ADD PRIMARY KEY (dataset_id, record_key, kind);"
            "CREATE INDEX ON raw_index (value) INCLUDE (holder_org_id, updated_at, expires_on, "
            "dataset_id, record_key); CREATE INDEX ON raw_index (expires_on)"
        )
        columns = [
            "dataset_id",
            "record_key",
            "kind",
            "key_version",
            "value",
            "holder_org_id",
            "updated_at",
            "batch_id",
            "expires_on",
        ]
        started = time.perf_counter()
        for start in range(0, len(rows), UPLOAD_RECORDS * 6):
            await connection.copy_records_to_table(
                "raw_index", records=rows[start : start + UPLOAD_RECORDS * 6], columns=columns
            )
        return len(rows) / (time.perf_counter() - started)
    finally:
        await connection.close()


async def raw_lookups(dsn: str, values: list[bytes]) -> float:
    """The same index values looked up in batches of 1,000 (= ANY), on one connection."""
    connection = await asyncpg.connect(dsn)
    try:
        query = (
            "SELECT value, holder_org_id, max(updated_at) FROM signature_index "
            "WHERE value = ANY($1::bytea[]) AND expires_on > current_date "
            "GROUP BY value, holder_org_id"
        )
        started = time.perf_counter()
        for start in range(0, len(values), 1000):
            await connection.fetch(query, values[start : start + 1000])
        return len(values) / (time.perf_counter() - started)
    finally:
        await connection.close()


async def load(base: str, path: str, bodies: list[Any], headers: dict[str, str]) -> list[float]:
    """Each body POSTed (or GET when None) with CONCURRENCY in flight; returns the latencies."""
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(body: Any) -> float:
            async with gate:
                started = time.perf_counter()
                answer = await (
                    client.get(path)
                    if body is None
                    else client.post(path, json=body, headers=headers)
                )
                answer.raise_for_status()
                return time.perf_counter() - started

        return list(await asyncio.gather(*(one(body) for body in bodies)))


def _rate(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests_per_second": len(latencies) / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


def psi_job(holder_emails: list[str], buyer_emails: list[str]) -> tuple[float, int]:
    import private_set_intersection.python as psi

    started = time.perf_counter()
    server_side = psi.server.CreateWithNewKey(False)
    client_side = psi.client.CreateWithNewKey(False)
    setup = server_side.CreateSetupMessage(
        1e-9, len(buyer_emails), holder_emails, psi.DataStructure.GCS
    )
    response = server_side.ProcessRequest(client_side.CreateRequest(buyer_emails))
    size = client_side.GetIntersectionSize(setup, response)
    return time.perf_counter() - started, int(size)


def run(scale: str, workers: int, postgres_url: str, workdir: Path) -> dict[str, Any]:
    sizes = SCALES[scale]
    name = f"idcheck_bench_{secrets.token_hex(4)}"
    admin_dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    master = secrets.token_hex(32)
    keyring = KeyRing(master=bytes.fromhex(master), versions=(1,), current=1)
    key = derive_signing_key(bytes.fromhex(master), 1)
    report: dict[str, Any] = {"scale": scale, "workers": workers, "cpu_count": os.cpu_count()}
    try:
        started = time.perf_counter()
        holders = signed_records(sizes["holders"], key, seed=11)
        report["prepare_seconds"] = time.perf_counter() - started
        signatures = sum(len(r["signatures"]) for r in holders)
        with (
            server(dsn, master, workers, workdir) as (base, admin, pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            holder, buyer = _org(client, admin, "holder"), _org(client, admin, "buyer")
            dataset = client.post(
                "/v1/datasets",
                json={"name": "bench", "legal_basis": "contract"},
                headers={"Authorization": f"Bearer {holder}"},
            ).json()["id"]
            memory = TreeMemory(pid)
            memory.start()
            started = time.perf_counter()
            for start in range(0, len(holders), UPLOAD_RECORDS):
                body = "".join(
                    json.dumps(r) + "\n" for r in holders[start : start + UPLOAD_RECORDS]
                ).encode()
                answer = client.post(
                    f"/v1/datasets/{dataset}/records",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {holder}",
                        "Content-Type": "application/x-ndjson",
                    },
                )
                answer.raise_for_status()
            ingest_seconds = time.perf_counter() - started
            memory.done.set()
            memory.join()
            holder_id = asyncio.run(_admin(dsn, "SELECT org_id FROM datasets LIMIT 1", fetch=True))
            rows = index_rows(holders, keyring, dataset, str(holder_id))
            raw_copy_rate = asyncio.run(raw_copy(dsn, rows))
            ingest_rate = signatures / ingest_seconds
            report["ingest"] = {
                "records": len(holders),
                "signatures": signatures,
                "http_signatures_per_second": ingest_rate,
                "raw_copy_signatures_per_second": raw_copy_rate,
                "ratio": ingest_rate / raw_copy_rate,
                "server_peak_pss_mb": memory.peak_kb / 1024,
            }
            report["verify"] = _verify(base, buyer, dsn, holders, keyring, sizes)
            report["psi"] = _peer(base, buyer, holders, sizes)
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report["sign"] = bench_sign(sizes["sign"], workdir)
    return report


def _verify(
    base: str,
    buyer: str,
    dsn: str,
    holders: list[dict[str, Any]],
    keyring: KeyRing,
    sizes: dict[str, int],
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {buyer}"}
    known = list(people(sizes["holders"], seed=11))
    strangers = list(people(sizes["buyers"], seed=99))
    buyer_rows = [
        {k: v for k, v in (known[i] if i % 2 else strangers[i]).items() if k != "external_id"}
        for i in range(sizes["buyers"])
    ]
    bodies = [
        {"purpose": "bench", "records": buyer_rows[i : i + 1000]}
        for i in range(0, len(buyer_rows), 1000)
    ]
    started = time.perf_counter()
    asyncio.run(load(base, "/v1/verify", bodies, headers))
    seconds = time.perf_counter() - started
    values = []
    for row in buyer_rows:
        for signature in sign_record(row, keyring.signing_key(1)).signatures.values():
            values.append(keyring.index_value(1, bytes.fromhex(signature)))
    raw_rate = asyncio.run(raw_lookups(dsn, values))
    service_lookups = len(values) / seconds
    singles = [
        {"purpose": "bench", "records": [buyer_rows[i % len(buyer_rows)]]}
        for i in range(sizes["singles"])
    ]
    started = time.perf_counter()
    single = _rate(
        asyncio.run(load(base, "/v1/verify", singles, headers)), time.perf_counter() - started
    )
    started = time.perf_counter()
    health = _rate(
        asyncio.run(load(base, "/healthz", [None] * sizes["singles"], {})),
        time.perf_counter() - started,
    )
    return {
        "batch": {
            "records_per_second": len(buyer_rows) / seconds,
            "lookups_per_second": service_lookups,
            "raw_lookups_per_second": raw_rate,
            "ratio": service_lookups / raw_rate,
        },
        "single": {
            **single,
            "healthz": health,
            "ratio": single["requests_per_second"] / health["requests_per_second"],
        },
    }


def _peer(
    base: str, buyer: str, holders: list[dict[str, Any]], sizes: dict[str, int]
) -> dict[str, Any]:
    known = list(people(sizes["psi"], seed=11))
    strangers = list(people(sizes["buyers"], seed=99))
    holder_emails = [e for r in known if (e := normalize_field("email", r["email"]))]
    buyer_raw = [(known if i % 2 else strangers)[i]["email"] for i in range(sizes["buyers"])]
    buyer_emails = [e for r in buyer_raw if (e := normalize_field("email", r))]
    psi_seconds, psi_size = psi_job(holder_emails, buyer_emails)
    headers = {"Authorization": f"Bearer {buyer}"}
    bodies = [
        {"purpose": "bench", "records": [{"email": e} for e in buyer_raw[i : i + 1000]]}
        for i in range(0, len(buyer_raw), 1000)
    ]
    started = time.perf_counter()
    asyncio.run(load(base, "/v1/verify", bodies, headers))
    ours = time.perf_counter() - started
    return {
        "holder_emails": len(holder_emails),
        "buyer_emails": len(buyer_emails),
        "psi_seconds": psi_seconds,
        "psi_intersection": psi_size,
        "idcheck_seconds": ours,
        "speedup": psi_seconds / ours,
    }


async def _admin(dsn: str, statement: str, fetch: bool = False) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        return (
            await connection.fetchval(statement) if fetch else await connection.execute(statement)
        )
    finally:
        await connection.close()


def default_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="idcheck-bench-"))
