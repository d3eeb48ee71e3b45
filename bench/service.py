"""The service against the machine's raw limits, in one run, on PostgreSQL.

1. ingest: signatures/s through HTTP (NDJSON upload until committed and queryable), beside the
   same rows loaded by raw asyncpg COPY into an identically indexed table;
2. verify: records/s in 1,000-record requests, raw and signed locally, beside raw asyncpg lookups
   of the same index values in batches of 1,000 (the ratios are counted in lookups);
3. single-record verify: requests/s and p50/p99 at a fixed concurrency, one buyer and sixteen,
   beside /healthz, all from wrk (bench/wrk.py);
4. the peer: the same email-only membership job with openmined-psi (setup and query);
5. `idcheck sign` rows/s (bench.sign), and the server's peak memory during the largest upload.
"""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.cli.people import people
from bench.cluster import Node
from bench.holders import COPY_COLUMNS
from bench.holders import SignedFile
from bench.holders import index_rows
from bench.holders import write_signed
from bench.sign import TreeMemory
from bench.sign import bench_sign
from bench.wrk import run_wrk
from matching import KeyRing
from matching.index import chunks
from signatures import derive_signing_key
from signatures import normalize_field
from signatures import sign_record


@dataclass(frozen=True)
class Scale:
    uploads: list[int]  # holders' records per upload; the first alone, for latency at its size
    buyers: int  # buyer records, verified in requests of 1,000
    singles: int  # seconds of single-record requests (wrk), for latency
    psi: int  # holders' emails for the peer
    sign: int  # rows for `idcheck sign`


SCALES = {
    "small": Scale(
        uploads=[100_000, 100_000], buyers=20_000, singles=10, psi=200_000, sign=200_000
    ),
    # 10 M records; three of the bodies are about 1 GB each (about 380 bytes a record)
    "large": Scale(
        uploads=[100_000, 2_800_000, 2_800_000, 2_800_000, 1_500_000],
        buyers=100_000,
        singles=20,
        psi=1_000_000,
        sign=1_000_000,
    ),
}
CONCURRENCY = 16
BUYERS = 16  # the single-record phase again, each request from the next of this many buyers
IDCHECK = str(Path(sys.executable).with_name("idcheck"))


@contextmanager
def server(
    url: str, master: str, workers: int, workdir: Path, settings: dict[str, str] | None = None
) -> Any:
    """The real server (migrated, an admin key made) with the benchmark's settings, which
    ``settings`` may override: yields its URL, the admin key and its process id."""
    env = {
        **os.environ,
        "IDCHECK_DATABASE_URL": url,
        "IDCHECK_MASTER_KEY": master,
        "IDCHECK_ENV": "production",
        "IDCHECK_METRICS_PUBLIC": "true",  # on loopback, for the benchmark only
        "IDCHECK_RATE_LIMIT_PER_SECOND": "0",
        "IDCHECK_MAX_BATCH_RECORDS": "3000000",  # a 1 GB body at the large scale
        "IDCHECK_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [IDCHECK, *args], env=env, cwd=workdir, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    run("migrate")
    admin_org = f"bench-admin-{secrets.token_hex(4)}"  # one per start: a kept database is reused
    run("admin", "create-org", admin_org, "--role", "admin")
    admin = run("admin", "create-key", admin_org)
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


def _org(client: httpx.Client, admin: str, role: str, name: str = "") -> str:
    headers = {"Authorization": f"Bearer {admin}"}
    org = client.post(
        "/v1/admin/orgs", json={"name": name or f"bench-{role}", "role": role}, headers=headers
    )
    key = client.post(f"/v1/admin/orgs/{org.json()['id']}/keys", json={}, headers=headers)
    return str(key.json()["key"])


#: The signature index's partitions (0: not partitioned), and its size with them all.
PARTITIONS = "SELECT count(*) FROM pg_inherits WHERE inhparent = 'signature_index'::regclass"
INDEX_BYTES = (
    "SELECT sum(pg_total_relation_size(part))::bigint FROM (SELECT 'signature_index'::regclass"
    " AS part UNION ALL SELECT inhrelid FROM pg_inherits"
    " WHERE inhparent = 'signature_index'::regclass) AS parts"
)
# What a lookup reads: signature_index (its partitions, when it has them) and its index on
# `value` (not the primary key, nor the expiry index, which uploads and the purge use).
# pg_prewarm answers in blocks.
PREWARM = (
    "WITH tables AS (SELECT c.oid FROM pg_class c WHERE c.relkind = 'r'"
    " AND (c.oid = 'signature_index'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits"
    " WHERE inhparent = 'signature_index'::regclass)))"
    " SELECT coalesce(sum(pg_prewarm(relation, 'read')), 0)::bigint"
    " * current_setting('block_size')::bigint"
    " FROM (SELECT oid AS relation FROM tables UNION ALL SELECT i.indexrelid FROM pg_index i"
    " JOIN tables t ON t.oid = i.indrelid"
    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
    " WHERE a.attname = 'value') AS lookups"
)


async def raw_copy(
    dsn: str, files: list[SignedFile], keyring: KeyRing, dataset: str, holder: str
) -> float:
    """The same rows by asyncpg COPY into a table built, partitioned and indexed like
    signature_index, dropped once timed (at 10 M records it is as large as the index, 19 GB
    without close forms: left, it would push the index out of memory and fill the disk).

    Only the COPY is timed; building the rows (hashing, as the server does) is not.
    """
    connection = await asyncpg.connect(dsn)
    try:
        partitions = await connection.fetchval(PARTITIONS)
        layout = " PARTITION BY HASH (dataset_id)" if partitions else ""
        await connection.execute(
            f"CREATE TABLE raw_index (LIKE signature_index INCLUDING DEFAULTS){layout}"
        )
        for remainder in range(partitions):
            await connection.execute(
                f"CREATE TABLE raw_index_p{remainder} PARTITION OF raw_index"
                f" FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})"
            )
        await connection.execute(
            "ALTER TABLE raw_index ADD PRIMARY KEY (dataset_id, record_key, kind);"
            "CREATE INDEX ON raw_index (value) INCLUDE (holder_org_id, updated_at, expires_on, "
            "dataset_id, record_key); CREATE INDEX ON raw_index (expires_on)"
        )
        rows = 0
        seconds = 0.0
        for signed in files:
            for part in index_rows(signed, keyring, dataset, holder, per_part=100_000):
                started = time.perf_counter()
                await connection.copy_records_to_table(
                    "raw_index", records=part, columns=COPY_COLUMNS
                )
                seconds += time.perf_counter() - started
                rows += len(part)
        await connection.execute("DROP TABLE raw_index")
        return rows / seconds
    finally:
        await connection.close()


async def raw_lookups(dsn: str, values: list[bytes], connections: int = 1) -> float:
    """The same index values looked up in batches of 1,000 (= ANY), on ``connections``
    connections at once (each takes every ``connections``-th batch): values/s."""
    query = (
        "SELECT value, holder_org_id, max(updated_at) FROM signature_index "
        "WHERE value = ANY($1::bytea[]) AND expires_on > current_date "
        "GROUP BY value, holder_org_id"
    )
    batches = [values[start : start + 1000] for start in range(0, len(values), 1000)]
    opened = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:

        async def run(connection: asyncpg.Connection, share: list[list[bytes]]) -> None:
            for batch in share:
                await connection.fetch(query, batch)

        started = time.perf_counter()
        await asyncio.gather(*(run(c, batches[n::connections]) for n, c in enumerate(opened)))
        return len(values) / (time.perf_counter() - started)
    finally:
        for connection in opened:
            await connection.close()


async def load(base: str, path: str, bodies: list[Any], headers: dict[str, str]) -> list[float]:
    """Each body POSTed (or GET when None) with CONCURRENCY in flight; returns the latencies.
    The bodies are encoded before the clock starts: the client shares the server's cores."""
    encoded = [None if body is None else json.dumps(body).encode() for body in bodies]
    headers = {**headers, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(body: bytes | None) -> float:
            async with gate:
                started = time.perf_counter()
                answer = await (
                    client.get(path)
                    if body is None
                    else client.post(path, content=body, headers=headers)
                )
                answer.raise_for_status()
                return time.perf_counter() - started

        return list(await asyncio.gather(*(one(body) for body in encoded)))


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


def run(
    scale: str,
    workers: int,
    postgres_url: str,
    workdir: Path,
    out: Path,
    *,
    keep_db: bool = False,
    replicas: list[Node] | None = None,
    close_forms: bool = True,
) -> dict[str, Any]:
    """The whole benchmark; ``out`` gets the report so far after each phase, so that a run that
    fails late (a 10 M run takes two hours) keeps what it measured. With ``keep_db``, the loaded
    database outlives the run, for `--phases verify` (``kept_database``). With ``replicas``
    (streaming replicas of the server at ``postgres_url``), the service looks up on them, the
    raw lookups run on the first, and the report has the replicas' lag during the uploads and
    where the service's lookups ran. Without ``close_forms`` the holders' files leave out the
    close forms of names (5.9 values a record instead of 42: a 10 M load fits a smaller disk)."""
    sizes = SCALES[scale]
    name = f"idcheck_bench_{secrets.token_hex(4)}"
    admin_dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    master = secrets.token_hex(32)
    keyring = KeyRing(master=bytes.fromhex(master), versions=(1,), current=1)
    key = derive_signing_key(bytes.fromhex(master), 1)
    report: dict[str, Any] = {"scale": scale, "workers": workers, "cpu_count": os.cpu_count()}
    report["holders_close_forms"] = close_forms
    kept = False
    replicas = replicas or []
    settings = {}
    if replicas:
        report["replicas"] = len(replicas)
        settings["IDCHECK_DATABASE_REPLICA_URLS"] = ",".join(r.dsn(name) for r in replicas)
    lookups_dsn = replicas[0].dsn(name) if replicas else dsn

    def keep(name: str, value: Any) -> Any:
        report[name] = value
        out.write_text(json.dumps(report, indent=2) + "\n")
        return value

    try:
        started = time.perf_counter()
        files = write_signed(sizes.uploads, key, seed=11, workdir=workdir, close_forms=close_forms)
        keep("prepare_seconds", time.perf_counter() - started)
        with (
            server(dsn, master, workers, workdir, settings) as (base, admin, pid),
            httpx.Client(base_url=base, timeout=3600) as client,
        ):
            holder, buyer, buyers = _org(client, admin, "holder"), *_buyers(client, admin)
            lag = ReplicationLag(dsn) if replicas else None
            holder_headers = {"Authorization": f"Bearer {holder}"}
            dataset = client.post(
                "/v1/datasets",
                json={"name": "bench", "legal_basis": "contract"},
                headers=holder_headers,
            ).json()["id"]
            buyer_rows = _buyer_rows(sizes)
            _settle(dsn)
            memory = TreeMemory(pid)
            memory.start()
            ingest_seconds, latency = 0.0, {}
            for number, signed in enumerate(files):
                if lag is not None and number == len(files) - 1:
                    lag.start()  # the last upload: the index is at its largest
                started = time.perf_counter()
                answer = client.post(
                    f"/v1/datasets/{dataset}/records",
                    content=signed.blocks(),
                    headers={**holder_headers, "Content-Type": "application/x-ndjson"},
                )
                answer.raise_for_status()
                ingest_seconds += time.perf_counter() - started
                if number == 0:
                    memory.done.set()
                    _settle(dsn)
                    latency[signed.records] = _single(
                        base, [buyer], buyer_rows, sizes.singles, workdir
                    )
                    keep("latency_at_first_upload", latency[signed.records])
                    memory = _resume(memory, pid)
                keep("uploaded", {"files": number + 1, "seconds": ingest_seconds})
            memory.done.set()
            memory.join()
            if lag is not None:
                keep("replication_lag_during_last_upload", lag.finish())
            total = sum(signed.records for signed in files)
            holder_id = asyncio.run(_admin(dsn, "SELECT org_id FROM datasets LIMIT 1", fetch=True))
            _settle(dsn)
            index_bytes = asyncio.run(_admin(dsn, INDEX_BYTES, fetch=True))
            raw_copy_rate = asyncio.run(raw_copy(dsn, files, keyring, dataset, str(holder_id)))
            signatures = sum(signed.signatures for signed in files)
            ingest_rate = signatures / ingest_seconds
            keep(
                "ingest",
                {
                    "records": total,
                    "signatures": signatures,
                    "signatures_per_record": signatures / total,
                    # The table with its indexes (primary key, value, expiry).
                    "index_bytes_per_record": index_bytes / total,
                    "http_signatures_per_second": ingest_rate,
                    "raw_copy_signatures_per_second": raw_copy_rate,
                    "ratio": ingest_rate / raw_copy_rate,
                    "largest_upload_mb": max(signed.megabytes for signed in files),
                    "server_peak_pss_mb": memory.peak_kb / 1024,
                },
            )
            _settle(dsn)
            keep(
                "verify",
                _verify(base, buyer, buyers, lookups_dsn, buyer_rows, keyring, sizes, workdir),
            )
            if replicas:
                keep("lookups_by_target", _lookups_by_target(client))
            latency[total] = report["verify"]["single"]
            first, last = latency[files[0].records], latency[total]
            keep(
                "latency_by_index_size",
                {
                    f"{records:,} records": {
                        "p50_ms": figures["p50_ms"],
                        "p99_ms": figures["p99_ms"],
                    }
                    for records, figures in latency.items()
                }
                | {"p99_growth": last["p99_ms"] / first["p99_ms"]},
            )
            keep("psi", _peer(base, buyer, lookups_dsn, keyring, sizes, workers))
        if keep_db:  # only a database that was loaded whole is kept
            state = kept_database(workdir, scale)
            state.unlink(missing_ok=True)
            state.touch(0o600)  # it holds the master key
            state.write_text(json.dumps({"dsn": dsn, "master": master, "records": total}))
            kept = True
    finally:
        if not kept:
            asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for signed in files:
            signed.path.unlink(missing_ok=True)
    keep("sign", bench_sign(sizes.sign, workdir))
    return report


class ReplicationLag(threading.Thread):
    """The replicas' replay lag as the primary sees it (pg_stat_replication), every 0.2 s."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.done = threading.Event()
        self.samples: list[tuple[float, int]] = []

    def run(self) -> None:
        asyncio.run(self._sample())

    async def _sample(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            while not self.done.is_set():
                row = await connection.fetchrow(
                    "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float8,"
                    " coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint"
                    " FROM pg_stat_replication"
                )
                assert row is not None
                self.samples.append((float(row[0]), int(row[1])))
                await asyncio.sleep(0.2)
        finally:
            await connection.close()

    def finish(self) -> dict[str, float]:
        self.done.set()
        self.join()
        seconds = sorted(sample[0] for sample in self.samples) or [0.0]
        return {
            "samples": len(self.samples),
            "max_seconds": seconds[-1],
            "p50_seconds": seconds[len(seconds) // 2],
            "max_bytes": max((sample[1] for sample in self.samples), default=0),
        }


def _lookups_by_target(client: httpx.Client) -> dict[str, float]:
    """The service's own count of its lookups, by where they ran (its /metrics)."""
    counts = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("idcheck_lookups_total{"):
            target = line.split('target="', 1)[1].split('"', 1)[0]
            counts[target] = float(line.rsplit(" ", 1)[1])
    return counts


def kept_database(workdir: Path, scale: str) -> Path:
    """Where a run with `--keep-database` leaves its database's URL and master key."""
    return workdir / f"{scale}-database.json"


def run_verify(scale: str, workers: int, workdir: Path, out: Path) -> dict[str, Any]:
    """The verify phases and the PSI peer alone, against the database a `--keep-database` run
    loaded: minutes where loading 10 M records takes two hours. The database is kept again (drop
    it yourself)."""
    kept = kept_database(workdir, scale)
    if not kept.exists():
        raise SystemExit(f"no kept database: run `python -m bench --scale {scale} --keep-database`")
    state = json.loads(kept.read_text())
    dsn, master, total = state["dsn"], state["master"], state["records"]
    sizes = SCALES[scale]
    keyring = KeyRing(master=bytes.fromhex(master), versions=(1,), current=1)
    report: dict[str, Any] = {
        "scale": scale,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "records": total,
    }
    buyer_rows = _buyer_rows(sizes)
    with (
        server(dsn, master, workers, workdir) as (base, admin, _),
        httpx.Client(base_url=base, timeout=3600) as client,
    ):
        buyer, buyers = _buyers(client, admin)
        _settle(dsn)
        report["verify"] = _verify(base, buyer, buyers, dsn, buyer_rows, keyring, sizes, workdir)
        report["psi"] = _peer(base, buyer, dsn, keyring, sizes, workers)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _buyers(client: httpx.Client, admin: str) -> tuple[str, list[str]]:
    """A buyer for the batch and single-record phases, and BUYERS more for the spread one."""
    run = secrets.token_hex(3)  # names are unique, and a kept database is used again
    buyer = _org(client, admin, "buyer", f"bench-buyer-{run}")
    return buyer, [_org(client, admin, "buyer", f"bench-buyer-{run}-{n}") for n in range(BUYERS)]


def _resume(memory: TreeMemory, pid: int) -> TreeMemory:
    """A new sampler that starts from the old one's peak (the pause is the latency probe's)."""
    memory.join()
    fresh = TreeMemory(pid)
    fresh.peak_kb = memory.peak_kb
    fresh.start()
    return fresh


def _buyer_rows(sizes: Scale) -> list[dict[str, str]]:
    """Half the buyer's rows are holders' people (from the first upload), half strangers."""
    known = list(islice(people(sizes.buyers, seed=11), sizes.buyers))
    strangers = list(people(sizes.buyers, seed=99))
    return [
        {k: v for k, v in (known[i] if i % 2 else strangers[i]).items() if k != "external_id"}
        for i in range(sizes.buyers)
    ]


def _single(
    base: str, keys: list[str], buyer_rows: list[dict[str, str]], seconds: int, workdir: Path
) -> dict[str, float]:
    """Single-record raw verifies from CONCURRENCY connections for ``seconds`` (wrk), each from
    the next of ``keys``."""
    bodies = [{"purpose": "bench", "records": [row]} for row in buyer_rows[:2000]]
    return run_wrk(
        base,
        "/v1/verify",
        connections=CONCURRENCY,
        seconds=seconds,
        bodies=bodies,
        keys=keys,
        workdir=workdir,
    )


def _verify(
    base: str,
    buyer: str,
    buyers: list[str],
    dsn: str,
    buyer_rows: list[dict[str, str]],
    keyring: KeyRing,
    sizes: Scale,
    workdir: Path,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {buyer}"}
    bodies = [
        {"purpose": "bench", "records": buyer_rows[i : i + 1000]}
        for i in range(0, len(buyer_rows), 1000)
    ]
    memory = _prewarm(dsn)
    started = time.perf_counter()
    asyncio.run(load(base, "/v1/verify", bodies, headers))
    seconds = time.perf_counter() - started
    signed = [sign_record(row, keyring.signing_key(1)) for row in buyer_rows]
    values = [
        keyring.index_value(1, bytes.fromhex(signature))
        for record in signed
        for signature in [*record.signatures.values(), *chain(*record.close.values())]
    ]
    signed_bodies = [
        {"purpose": "bench", "records": [{"key_version": 1, **s.upload()} for s in part]}
        for part in chunks([s for s in signed if s.signatures], 1000)
    ]
    started = time.perf_counter()
    asyncio.run(load(base, "/v1/verify/signed", signed_bodies, headers))
    signed_seconds = time.perf_counter() - started
    raw_rate = asyncio.run(raw_lookups(dsn, values))
    service_lookups = len(values) / seconds
    signed_lookups = len(values) / signed_seconds
    single = _single(base, [buyer], buyer_rows, sizes.singles, workdir)
    many = _single(base, buyers, buyer_rows, sizes.singles, workdir)
    health = run_wrk(
        base, "/healthz", connections=CONCURRENCY, seconds=sizes.singles, workdir=workdir
    )
    return {
        "prewarmed": memory,
        "batch": {
            "records_per_second": len(buyer_rows) / seconds,
            "lookups_per_second": service_lookups,
            "raw_lookups_per_second": raw_rate,
            "ratio": service_lookups / raw_rate,
            "signed": {
                "records_per_second": len(buyer_rows) / signed_seconds,
                "lookups_per_second": signed_lookups,
                "ratio": signed_lookups / raw_rate,
            },
        },
        "single": {
            **single,
            "healthz": health,
            "ratio": single["requests_per_second"] / health["requests_per_second"],
            f"{BUYERS}_buyers": {
                **many,
                "ratio": many["requests_per_second"] / health["requests_per_second"],
            },
        },
    }


def _peer(
    base: str, buyer: str, dsn: str, keyring: KeyRing, sizes: Scale, workers: int
) -> dict[str, Any]:
    """The PSI peer beside idcheck's email-only verify of the same sets; and, as the ceiling of
    that speed-up on this machine, the buyer's index values looked up by asyncpg alone (on as
    many connections as the server has workers): no HTTP, no parsing, no signing, no metering."""
    known = list(people(sizes.psi, seed=11))
    strangers = list(people(sizes.buyers, seed=99))
    holder_emails = [e for r in known if (e := normalize_field("email", r["email"]))]
    buyer_raw = [(known if i % 2 else strangers)[i]["email"] for i in range(sizes.buyers)]
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
    values = [
        keyring.index_value(1, bytes.fromhex(signature))
        for email in buyer_emails
        for signature in sign_record({"email": email}, keyring.signing_key(1)).signatures.values()
    ]
    lookups_alone = len(values) / asyncio.run(raw_lookups(dsn, values, connections=workers))
    return {
        "holder_emails": len(holder_emails),
        "buyer_emails": len(buyer_emails),
        "psi_seconds": psi_seconds,
        "psi_intersection": psi_size,
        "idcheck_seconds": ours,
        "speedup": psi_seconds / ours,
        "lookups_alone_seconds": lookups_alone,
        "speedup_ceiling": psi_seconds / lookups_alone,
    }


def _prewarm(dsn: str) -> dict[str, float]:
    """Before the verify phases: what a lookup reads, read into memory (pg_prewarm), as a
    serving PostgreSQL holds it (and its autoprewarm reloads it after a restart). Without this,
    the first phase paid for whatever the run did before: at 10 M records, right after the raw
    COPY's table had pushed the index out, raw batch verify read 8.6 GB from disk (vmstat) and
    ran at 1,726 records/s (2,991 at the small scale); signed verify, next, on the same values,
    ran as fast as at the small scale."""
    started = time.perf_counter()
    asyncio.run(_admin(dsn, "CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
    read = asyncio.run(_admin(dsn, PREWARM, fetch=True))
    return {"megabytes": read / 2**20, "seconds": time.perf_counter() - started}


def _settle(dsn: str) -> None:
    """Before a timed phase: what was written so far goes to disk (the signed files, the last
    load), so that neither the kernel's write-back nor a PostgreSQL checkpoint of gigabytes falls
    inside the measurement (the 10 M run of 2026-11-30 timed its first latency probe while
    the kernel was still writing back 3.8 GB of signed files)."""
    os.sync()
    asyncio.run(_admin(dsn, "CHECKPOINT"))


async def _admin(dsn: str, statement: str, fetch: bool = False) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        return (
            await connection.fetchval(statement) if fetch else await connection.execute(statement)
        )
    finally:
        await connection.close()


@contextmanager
def scratch_database(postgres_url: str) -> Iterator[str]:
    """A database of the benchmark's own on the server of ``postgres_url``, dropped when done:
    yields its libpq URL."""
    admin_dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"idcheck_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def default_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="idcheck-bench-"))
