"""Blind mode beside its raw limits, in one run: the server's evaluation rate per core beside
libsodium's bare scalar multiplication (rbcl) on one core, and `idcheck push` of a generated file
in blind mode beside the same push in HMAC mode.

    python -m bench blind [--rows 1000000]

The evaluation phase runs the real server with one worker (one core) and sends it requests of
10,000 blinded elements, one at a time, from this process (the other core): what it measures is
the route whole (body, checks, evaluation, quota, answer), each request followed by the same
10,000 bare multiplications here, so that both are timed on the same machine at the same moment.
The push phase runs the real server with two workers and `idcheck push` as a user runs it, each
push into its own dataset, the HMAC one first, then the OPRF version made current and the same
file pushed blind.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import rbcl

from app.cli.people import HEADER
from app.cli.people import people
from app.cli.people import write_csv
from bench.service import _org
from bench.service import _settle
from bench.service import scratch_database
from bench.service import server
from signatures import derive_oprf_secret
from signatures import oprf

ELEMENTS = 10_000
REQUESTS = 30
IDCHECK = str(Path(sys.executable).with_name("idcheck"))
#: The benchmark counts evaluations, it does not ration them.
SETTINGS = {"IDCHECK_EVALUATION_ALLOWANCE": str(10**12)}


def _bare_seconds(secret: bytes, elements: list[bytes]) -> float:
    """libsodium's ristretto255 scalar multiplication alone, on one core: the floor."""
    started = time.perf_counter()
    for element in elements:
        rbcl.crypto_scalarmult_ristretto255(secret, element)
    return time.perf_counter() - started


def _rotate_to_oprf(client: httpx.Client, admin: str, holder: str) -> int:
    """Make an OPRF version current, and wait until every worker says so (each reads the key
    ring every 30 s; the push must not start on one that still says HMAC)."""
    rotated = client.post(
        "/v1/admin/key-versions",
        json={"scheme": "oprf-ristretto255-sha512"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    rotated.raise_for_status()
    version = int(rotated.json()["version"])
    deadline, agreeing = time.monotonic() + 60, 0
    while agreeing < 20:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not all take the OPRF version within 60 s")
        with httpx.Client(base_url=str(client.base_url)) as fresh:  # a new connection each time
            current = fresh.get(
                "/v1/key-versions/current", headers={"Authorization": f"Bearer {holder}"}
            ).json()
        agreeing = agreeing + 1 if current["version"] == version else 0
        time.sleep(0.05 if agreeing else 1)
    return version


def evaluation_rate(dsn: str, master: str, workdir: Path) -> dict[str, Any]:
    with (
        server(dsn, master, 1, workdir, SETTINGS) as (base, admin, _),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        holder = _org(client, admin, "holder")
        version = _rotate_to_oprf(client, admin, holder)
        elements = [oprf.blind(os.urandom(16)).element for _ in range(ELEMENTS)]
        content = json.dumps({"key_version": version, "elements": [e.hex() for e in elements]})
        headers = {"Authorization": f"Bearer {holder}", "Content-Type": "application/json"}
        secret = derive_oprf_secret(bytes.fromhex(master), version)
        client.post("/v1/oprf/evaluate", content=content, headers=headers).raise_for_status()
        served = bare = 0.0
        # Interleaved, so that both see the same machine (its clock speed varies by the minute).
        for _ in range(REQUESTS):
            started = time.perf_counter()
            client.post("/v1/oprf/evaluate", content=content, headers=headers).raise_for_status()
            served += time.perf_counter() - started
            bare += _bare_seconds(secret, elements)
    return {
        "requests": REQUESTS,
        "elements_per_request": ELEMENTS,
        "elements_per_second_one_worker": REQUESTS * ELEMENTS / served,
        "bare_scalar_multiplications_per_second_one_core": REQUESTS * ELEMENTS / bare,
        "ratio": bare / served,
    }


def _push(
    base: str, key: str, source: Path, workdir: Path, name: str, close_forms: bool
) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=600) as client:
        dataset = client.post(
            "/v1/datasets",
            json={"name": name, "legal_basis": "contract"},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["id"]
    env = {
        **os.environ,
        "IDCHECK_URL": base,
        "IDCHECK_API_KEY": key,
        "IDCHECK_STATE_DIR": str(workdir / "state"),
        "IDCHECK_CONFIG_DIR": str(workdir / "config"),
    }
    args = [IDCHECK, "push", str(source), "--dataset", dataset]
    args += [] if close_forms else ["--no-close-forms"]
    args += ["--id-column"]
    started = time.perf_counter()
    done = subprocess.run(
        [*args, HEADER["external_id"]], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"idcheck push failed:\n{done.stderr}")
    with httpx.Client(base_url=base, timeout=600) as client:
        detail = client.get(
            f"/v1/datasets/{dataset}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        usage = client.get("/v1/usage/me", headers={"Authorization": f"Bearer {key}"}).json()
    return {
        "seconds": seconds,
        "records": detail["records"],
        "signatures": detail["signatures"],
        "evaluations": usage["rows"][0]["evaluations"],
    }


def push_times(
    dsn: str, master: str, rows: int, workdir: Path, close_forms: bool
) -> dict[str, Any]:
    source = workdir / f"customers-{rows}.csv"
    if not source.exists():
        write_csv(source, people(rows, seed=42))
    with (
        server(dsn, master, 2, workdir, SETTINGS) as (base, admin, _),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        hmac_holder = _org(client, admin, "holder")
        _settle(dsn)
        hmac = _push(base, hmac_holder, source, workdir, "hmac", close_forms)
        blind_holder = client.post(
            "/v1/admin/orgs",
            json={"name": "bench-blind-holder", "role": "holder"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["id"]
        blind_key = client.post(
            f"/v1/admin/orgs/{blind_holder}/keys",
            json={},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["key"]
        _rotate_to_oprf(client, admin, blind_key)
        _settle(dsn)
        blind = _push(base, blind_key, source, workdir, "blind", close_forms)
    return {
        "rows": rows,
        "close_forms": close_forms,
        "hmac": hmac,
        "blind": blind,
        "blind_vs_hmac_time": blind["seconds"] / hmac["seconds"],
    }


def bench_blind(
    rows: int, postgres_url: str, workdir: Path, close_forms: bool = True
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"cpu_count": os.cpu_count()}
    with scratch_database(postgres_url) as dsn:
        report["evaluation"] = evaluation_rate(dsn, secrets.token_hex(32), workdir)
    with scratch_database(postgres_url) as dsn:
        report["push"] = push_times(dsn, secrets.token_hex(32), rows, workdir, close_forms)
    return report
