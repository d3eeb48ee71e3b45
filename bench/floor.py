"""The ceiling over a single-record verify: PostgreSQL alone, driven by pgbench (C, no Python in
the path), running what a verify asks of it, beside `/healthz` of the real server from wrk.

A metered verify is, in the database, an autocommit key lookup, then one transaction: the buyer's
quota read under a share lock, the lookup of the record's index values (six, by `= ANY`, in a
b-tree that carries the columns the answer needs), the usage event with its audit entry in one
statement, and a durable commit. The script below runs exactly that shape on tables of its own
(200,000 records' values) with 16 clients, as the single-record phase runs 16 connections; the
service can go no faster than this, since it does all of it and parses, authorises, judges and
answers in Python besides. Run alone:

    python -m bench floor
"""

import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any
from typing import Final

from bench.service import scratch_database
from bench.service import server
from bench.wrk import run_wrk

CLIENTS: Final = 16
SECONDS: Final = 10
VALUES: Final = 1_200_000  # 200,000 records, six values each

SETUP: Final = f"""
CREATE TABLE floor_keys (hash bytea PRIMARY KEY, org_id int NOT NULL, role smallint NOT NULL);
INSERT INTO floor_keys SELECT sha256(int4send(n)), n % 16 + 1, 2 FROM generate_series(1, 1000) n;
CREATE TABLE floor_orgs (id int PRIMARY KEY, monthly_quota bigint);
INSERT INTO floor_orgs SELECT n, NULL FROM generate_series(1, 16) n;
CREATE TABLE floor_index (value bytea NOT NULL, holder_org_id int NOT NULL, updated_at date
    NOT NULL, expires_on date NOT NULL, dataset_id int NOT NULL, record_key bytea NOT NULL);
INSERT INTO floor_index SELECT substr(sha256(int4send(n)), 1, 16), n % 7, current_date,
    current_date + 1095, n % 7, substr(sha256(int4send(n / 6)), 1, 16)
    FROM generate_series(1, {VALUES}) n;
CREATE INDEX ON floor_index (value)
    INCLUDE (holder_org_id, updated_at, expires_on, dataset_id, record_key);
CREATE TABLE floor_events (id bigserial PRIMARY KEY, buyer_org_id int NOT NULL,
    created_at timestamptz NOT NULL, records int NOT NULL, billable_records int NOT NULL,
    matched int NOT NULL);
CREATE TABLE floor_audit (id bigserial PRIMARY KEY, org_id int NOT NULL, action text NOT NULL,
    created_at timestamptz NOT NULL, event_id bigint NOT NULL);
VACUUM ANALYZE;
"""  # noqa: S608 - a constant of this module, no input

SCRIPT: Final = """\\set key random(1, 1000)
\\set org random(1, 16)
\\set v random(1, {values})
SELECT org_id, role FROM floor_keys WHERE hash = sha256(int4send(:key));
BEGIN;
SELECT monthly_quota FROM floor_orgs WHERE id = :org FOR SHARE;
SELECT holder_org_id, updated_at, expires_on FROM floor_index WHERE value = ANY(ARRAY[
    substr(sha256(int4send(:v)), 1, 16), substr(sha256(int4send(:v + 1)), 1, 16),
    substr(sha256(int4send(:v + 2)), 1, 16), substr(sha256(int4send(:v + 3)), 1, 16),
    substr(sha256(int4send(:v + 4)), 1, 16), substr(sha256(int4send(:v + 5)), 1, 16)]);
WITH event AS (INSERT INTO floor_events (buyer_org_id, created_at, records, billable_records,
    matched) VALUES (:org, now(), 1, 1, 1) RETURNING id)
    INSERT INTO floor_audit (org_id, action, created_at, event_id)
    SELECT :org, 'verify', now(), id FROM event;
COMMIT;
"""


def _pgbench(dsn: str, script: Path, clients: int) -> dict[str, float]:
    found = shutil.which("pgbench")
    if found is None:
        raise SystemExit("pgbench is missing (PostgreSQL's client package)")
    done = subprocess.run(
        [found, "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(SECONDS),
         "-f", str(script), dsn],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if tps is None or latency is None or (failed is not None and int(failed.group(1))):
        raise SystemExit(f"pgbench did not finish cleanly:\n{done.stdout}\n{done.stderr}")
    return {"transactions_per_second": float(tps.group(1)), "latency_ms": float(latency.group(1))}


def bench_floor(postgres_url: str, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    with scratch_database(postgres_url) as dsn:
        made = subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", dsn],
            input=SETUP, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise SystemExit(f"the tables were not made:\n{made.stderr}")
        script = workdir / "floor.sql"
        script.write_text(SCRIPT.format(values=VALUES - 6))
        subprocess.run(["psql", "-q", "-c", "CHECKPOINT", dsn], check=True)
        with server(dsn, secrets.token_hex(32), 2, workdir) as (base, _, _):
            healthz = run_wrk(
                base, "/healthz", connections=CLIENTS, seconds=SECONDS, workdir=workdir
            )
        floor = _pgbench(dsn, script, CLIENTS)
        one = _pgbench(dsn, script, 1)
    return {
        "clients": CLIENTS,
        "healthz_requests_per_second": healthz["requests_per_second"],
        "target_verifies_per_second": healthz["requests_per_second"] / 2,
        "postgresql_alone_16_clients": floor,
        "postgresql_alone_1_client": one,
        "ratio_to_healthz": floor["transactions_per_second"] / healthz["requests_per_second"],
    }
