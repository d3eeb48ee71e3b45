"""Blind mode end to end, with the commands a holder and a buyer run, against a real server on
each backend: a holder pushes under HMAC, another blind (OPRF), a buyer verifies raw and with
--local-sign in both modes and gets the ground truth every time; and through a recording proxy,
nothing but blinded elements and signatures leaves the holder's or the buyer's machine."""

import csv
import json
import os
import random
import re
import subprocess
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.cli.people import HEADER
from app.cli.people import people
from app.cli.people import write_csv
from idcheck.client import Client
from idcheck.client import UseBlindEvaluation
from signatures import FIELDS
from signatures import KINDS
from signatures import canonical_message
from signatures import derive_oprf_secret
from signatures import normalize_record
from signatures import oprf
from signatures import record_messages
from tests.e2e.proxy import FaultyProxy
from tests.e2e.test_cli_tools import _env
from tests.e2e.test_cli_tools import _idcheck
from tests.e2e.test_cli_tools import _summary
from tests.helpers.commands import IDCHECK
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import Database
from tests.helpers.prospects import buyer_file
from tests.helpers.prospects import expected_verdict
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

OPRF = "oprf-ristretto255-sha512"
Truth = list[tuple[str, dict[str, bool]]]  # per row: verdict, kind -> match


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


def _rotate(server: Server, scheme: str) -> int:
    with server.client() as client:
        rotated = client.post(
            "/v1/admin/key-versions", json={"scheme": scheme}, headers=auth(server.admin_key)
        )
    assert rotated.status_code == 201, rotated.text
    return int(rotated.json()["version"])


def _holder(server: Server, name: str) -> tuple[str, str]:
    with server.client() as client:
        _, key = remote_org(client, server.admin_key, "holder", name)
    with Client(server.url, key) as holder:
        return key, str(holder.create_dataset(name, "contract").id)


def _fields(record: dict[str, str]) -> dict[str, str]:
    """A CSV row's record as the spec normalises it (the row's id and ref are not fields)."""
    return normalize_record({name: record.get(name) for name in FIELDS}).fields


def _messages(record: dict[str, str]) -> set[bytes]:
    """Every message the record's signatures are made of: its kinds' and its close forms'."""
    normalized = normalize_record({name: record.get(name) for name in FIELDS})
    return set(record_messages(normalized.fields, normalized.names).values())


def _signatures(record: dict[str, Any]) -> set[str]:
    """A record's signatures as sent: its kinds' and its close forms'."""
    return {*record["signatures"].values(), *chain(*record.get("close", {}).values())}


def _truth(rows: list[dict[str, str]], holdings: list[list[dict[str, str]]]) -> Truth:
    """The expected verdicts from the normalised values alone: a kind matches when its canonical
    message is one that a holder's file holds."""
    held = set().union(*(_messages(record) for records in holdings for record in records))
    expected = []
    for row in rows:
        fields = _fields(row)
        checks = {
            kind: canonical_message(kind, fields) in held
            for kind, needed in KINDS.items()
            if all(name in fields for name in needed)
        }
        expected.append((expected_verdict(checks), checks))
    return expected


def _answers(results: Path) -> Truth:
    with results.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    answers = []
    for row in rows:
        checks = {kind: row[f"idcheck_{kind}"] == "yes" for kind in KINDS if row[f"idcheck_{kind}"]}
        answers.append((row["idcheck_verdict"], checks))
    return answers


def _verify(env: dict[str, str], source: Path, out: Path, *more: str) -> Truth:
    done = _idcheck(env, "verify", str(source), "-o", str(out), "--purpose", "kyc", *more)
    assert done.returncode == 0, done.stderr
    return _answers(out)


def test_blind_and_hmac_holders_and_a_buyer_in_every_mode_get_the_truth(
    server: Server, tmp_path: Path
) -> None:
    rng = random.Random(14)
    hmac_key, hmac_dataset = _holder(server, "hmac holder")
    hmac_rows = list(people(2_000, seed=21))
    hmac_file = tmp_path / "hmac.csv"
    write_csv(hmac_file, iter(hmac_rows))
    env = _env(tmp_path, IDCHECK_URL=server.url)
    pushed = _idcheck(
        env | {"IDCHECK_API_KEY": hmac_key},
        *("push", str(hmac_file), "--dataset", hmac_dataset, "--id-column", HEADER["external_id"]),
    )
    assert pushed.returncode == 0, pushed.stderr

    oprf_version = _rotate(server, OPRF)
    blind_key, blind_dataset = _holder(server, "blind holder")
    with Client(server.url, blind_key) as blind_holder:
        assert blind_holder.get_current_key_version().scheme == OPRF
        with pytest.raises(UseBlindEvaluation):
            blind_holder.get_signing_key()
    # 10,000 people of its own, and 300 the HMAC holder holds too (under ids of its own).
    shared = [row | {"external_id": "S" + row["external_id"]} for row in hmac_rows[:300]]
    blind_rows = list(people(10_000, seed=22)) + shared
    blind_file = tmp_path / "blind.csv"
    write_csv(blind_file, iter(blind_rows))
    # Without close forms (each would be one more evaluation: the proxied test below has them),
    # which is also how a holder keeps its evaluations to the kinds.
    pushed = _idcheck(
        env | {"IDCHECK_API_KEY": blind_key},
        *("push", str(blind_file), "--dataset", blind_dataset),
        *("--id-column", HEADER["external_id"], "--jobs", "2", "--chunk-size", "2500"),
        "--no-close-forms",
    )
    assert pushed.returncode == 0, pushed.stderr
    summary = _summary(pushed.stderr)
    assert int(summary["rows read"]) == len(blind_rows)
    with Client(server.url, blind_key) as blind_holder:
        detail = blind_holder.get_dataset(blind_dataset)
        assert detail.records == int(summary["rows signed"]) > 9_000
        evaluations = blind_holder.get_my_usage().rows[0].evaluations
        assert detail.close_forms == 0
        assert evaluations == sum(detail.by_kind.values())  # one per signature, none wasted
    with Client(server.url, server.admin_key) as admin:
        report = {v.version: v for v in admin.list_key_versions().versions}
    assert [d.name for d in report[oprf_version].datasets] == ["blind holder"]
    assert report[oprf_version].scheme == OPRF

    _, buyer_key = _org(server, "buyer", "blind-mode buyer")
    known = [*hmac_rows[300:600], *blind_rows[:300], *shared[:100]]
    prospects = buyer_file(known, rng)
    prospects_file = tmp_path / "prospects.csv"
    write_csv(prospects_file, iter(prospects))
    truth = _truth(prospects, [hmac_rows, blind_rows])
    assert {verdict for verdict, _ in truth} >= {"verified", "partial", "unverified"}
    buyer_env = env | {"IDCHECK_API_KEY": buyer_key}
    raw = _verify(buyer_env, prospects_file, tmp_path / "raw.csv")
    blind = _verify(buyer_env, prospects_file, tmp_path / "blind-local.csv", "--local-sign")
    assert raw == truth
    assert blind == truth
    hmac_version = _rotate(server, "hmac-sha256")  # HMAC mode again; the OPRF version stays live
    hmac_mode = _verify(buyer_env, prospects_file, tmp_path / "hmac-local.csv", "--local-sign")
    assert hmac_mode == truth
    with Client(server.url, buyer_key) as buyer:
        assert buyer.get_signing_key().version == hmac_version
        # A person both holders hold, one under HMAC and one blind: two sources, each once.
        answer = buyer.verify([{"ref": "both", **_raw(shared[0])}], "kyc")
        assert {check.sources for check in answer.results[0].checks.values()} == {2}
        assert answer.usage.billable_records == 1
    log = server.log.read_text()
    for row in prospects[:50] + blind_rows[:50]:
        for value in (row["email"], row["last_name"]):
            if value:
                assert value not in log


def _org(server: Server, role: str, name: str) -> tuple[str, str]:
    with server.client() as client:
        return remote_org(client, server.admin_key, role, name)


def _raw(row: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k != "external_id" and v}


def test_blind_push_and_verify_send_only_blinded_elements_then_signatures(
    server: Server, tmp_path: Path
) -> None:
    version = _rotate(server, OPRF)
    secret = derive_oprf_secret(bytes.fromhex(MASTER_KEY), version)
    rows = list(people(60, seed=31, dirty=0))
    source = tmp_path / "customers.csv"
    write_csv(source, iter(rows))
    messages = set().union(*(_messages(row) for row in rows))
    unblinded = {oprf.hash_to_group(m).hex() for m in messages}
    evaluated = {oprf.blind_evaluate(secret, bytes.fromhex(e)).hex() for e in unblinded}
    outputs = {m: oprf.evaluate(secret, m) for m in messages}
    signatures = {output[:16].hex() for output in outputs.values()}
    parts = urlsplit(server.url)
    proxy = FaultyProxy((parts.hostname or "", parts.port or 0))
    key, dataset = _holder(server, "proxied blind holder")
    _, buyer_key = _org(server, "buyer", "proxied blind buyer")
    env = _env(tmp_path, IDCHECK_URL=proxy.url)
    try:
        pushed = _idcheck(
            env | {"IDCHECK_API_KEY": key},
            *("push", str(source), "--dataset", dataset, "--id-column", HEADER["external_id"]),
        )
        assert pushed.returncode == 0, pushed.stderr
        verified = _idcheck(
            env | {"IDCHECK_API_KEY": buyer_key},
            *("verify", str(source), "-o", str(tmp_path / "out.csv"), "--purpose", "kyc"),
            "--local-sign",
        )
        assert verified.returncode == 0, verified.stderr
    finally:
        proxy.close()
    sent = [seen for seen in proxy.seen if seen.body]
    assert {seen.path.split("?")[0] for seen in sent} >= {
        "/v1/oprf/evaluate",
        f"/v1/datasets/{dataset}/records",
        "/v1/verify/signed",
    }
    everything = b"\n".join(seen.body for seen in sent).decode("utf-8")
    for row in rows:
        for name in ("email", "phone", "last_name", "first_name", "street", "birth_date"):
            if row[name] and not re.fullmatch(r"[0-9a-f]*", row[name]):
                assert row[name] not in everything, name
    for fields in (_fields(row) for row in rows):
        for name in ("email", "phone", "street"):
            if name in fields:
                assert fields[name] not in everything, name
    hexes = set(re.findall(r"[0-9a-f]{32,128}", everything))
    assert not hexes & unblinded  # HashToGroup(input): never
    assert not hexes & evaluated  # the server's answer to an unblinded element: never
    assert not hexes & {output.hex() for output in outputs.values()}  # 64-byte outputs: never
    blinded_sent: set[str] = set()
    for seen in sent:
        if seen.path == "/v1/oprf/evaluate":
            blinded_sent.update(json.loads(seen.body)["elements"])
    assert len(blinded_sent) >= len(messages)  # fresh blinds: the buyer's are new elements too
    log = server.log.read_text()
    assert not {element for element in blinded_sent if element in log}  # nor logged
    uploaded = [
        json.loads(line)
        for seen in sent
        if seen.path == f"/v1/datasets/{dataset}/records"
        for line in seen.body.splitlines()
        if line.strip()
    ]
    assert {s for record in uploaded for s in _signatures(record)} <= signatures
    assert sum(len(record.get("close", {})) for record in uploaded) > len(rows)  # forms went too
    for seen in sent:
        if seen.path == "/v1/verify/signed":
            for record in json.loads(seen.body)["records"]:
                if record["key_version"] == version:
                    assert _signatures(record) <= signatures


@pytest.fixture(scope="module")
def evaluator(server: Server) -> str:
    """A holder's key, for the property test's many evaluations."""
    return _org(server, "holder", "evaluating holder")[1]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(inputs=st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_blind_evaluation_over_the_wire_is_the_direct_evaluation(
    server: Server, evaluator: str, inputs: list[bytes]
) -> None:
    version = _current_oprf(server)
    secret = derive_oprf_secret(bytes.fromhex(MASTER_KEY), version)
    blinded = [oprf.blind(data) for data in inputs]
    with Client(server.url, evaluator) as client:
        evaluated = client.oprf_evaluate(version, [item.element for item in blinded])
    for data, item, element in zip(inputs, blinded, evaluated, strict=True):
        assert oprf.finalize(data, item.blind, element) == oprf.evaluate(secret, data)


def _current_oprf(server: Server) -> int:
    with Client(server.url, server.admin_key) as admin:
        versions = admin.list_key_versions().versions
    live = [v.version for v in versions if v.scheme == OPRF and v.retired_at is None]
    return live[-1] if live else _rotate(server, OPRF)


def test_a_version_made_current_elsewhere_is_known_as_soon_as_a_client_names_it(
    server: Server, module_database: Database
) -> None:
    """`idcheck admin rotate-signing-key --scheme oprf` on the server's machine writes the version
    to the database; no worker hears of it before its 30 s reading, yet the first request naming
    it is served, not refused: the worker reads its key ring again then."""
    env = {
        **os.environ,
        "IDCHECK_ENV": "test",
        "IDCHECK_DATABASE_URL": module_database.url,
        "IDCHECK_MASTER_KEY": MASTER_KEY,
    }
    rotated = subprocess.run(
        [IDCHECK, "admin", "rotate-signing-key", "--scheme", "oprf"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stderr
    version = int(rotated.stdout)
    data = b"idcheck:v1:email\x1fjean@exemple.fr"
    blinded = oprf.blind(data)
    _, key = _org(server, "buyer", "rotated elsewhere")
    with Client(server.url, key) as client:
        [element] = client.oprf_evaluate(version, [blinded.element])
    secret = derive_oprf_secret(bytes.fromhex(MASTER_KEY), version)
    assert oprf.finalize(data, blinded.blind, element) == oprf.evaluate(secret, data)
