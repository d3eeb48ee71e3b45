"""The holder's and the buyer's commands as a user runs them (subprocesses), on one real server
per backend for the module (each test with organisations of its own)."""

import csv
import json
import os
import signal
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from uuid import uuid4

import pytest

from app.cli.people import HEADER
from app.cli.people import people
from app.cli.people import write_csv
from idcheck.cli.push import Journal
from idcheck.client import Client
from tests.e2e.proxy import FaultyProxy
from tests.helpers.commands import IDCHECK
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    return env | {
        "IDCHECK_STATE_DIR": str(tmp_path / "state"),
        "IDCHECK_CONFIG_DIR": str(tmp_path / "config"),
        **more,
    }


def _idcheck(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDCHECK, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _summary(output: str) -> dict[str, str]:
    """The rows of a command's summary table: label -> value."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 4:
            rows[cells[1]] = cells[2].replace(",", "")
    return rows


def _holder(server: Server, name: str) -> tuple[str, str]:
    """A holder's key and a new dataset of it."""
    with server.client() as client:
        _, key = remote_org(client, server.admin_key, "holder", name)
    with Client(server.url, key) as holder:
        return key, str(holder.create_dataset(name, "contract").id)


def _expected(
    env: dict[str, str], server: Server, key: str, source: Path, tmp: Path
) -> dict[str, Any]:
    """What the dataset must hold: `idcheck sign` of the same file, the last row of an id wins."""
    with Client(server.url, key) as client:
        (tmp / "key.json").write_text(client.get_signing_key().model_dump_json())
    signed = tmp / "signed.ndjson"
    done = _idcheck(
        env,
        "sign",
        str(source),
        "--key-file",
        str(tmp / "key.json"),
        "--id-column",
        "Référence",
        "-o",
        str(signed),
    )
    assert done.returncode == 0, done.stderr
    records = {}
    with signed.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            records[record["external_id"]] = record["signatures"]
    by_kind = Counter(kind for signatures in records.values() for kind in signatures)
    return {"records": len(records), "by_kind": dict(by_kind)}


def test_a_push_killed_midway_resumes_with_no_record_missing_or_twice(
    server: Server, tmp_path: Path
) -> None:
    key, dataset = _holder(server, "push holder")
    rows = list(people(100_000, seed=5))
    rows.insert(10, rows[3] | {"email": "nouvelle@exemple.fr"})  # the same id again, changed
    source = tmp_path / "customers.csv"
    write_csv(source, iter(rows))
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=key)
    args = [
        str(IDCHECK),
        "push",
        str(source),
        "--dataset",
        dataset,
        "--id-column",
        "Référence",
        "--chunk-size",
        "5000",
        "--jobs",
        "2",
        "--no-close-forms",  # the journal is what this holds to account: a seventh of the work
    ]
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(args, env=env, stdout=log, stderr=log, start_new_session=True)
    acknowledged = 0
    deadline = time.monotonic() + 240
    while acknowledged < 4:
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "the push acknowledged nothing"
        for journal in (tmp_path / "state").glob("push-*.json"):
            acknowledged = len(json.loads(journal.read_text())["acknowledged"])
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the push and its signing processes, at once
    first.wait()
    expected = _expected(env, server, key, source, tmp_path)
    total_chunks = -(-expected["records"] // 5000)
    with Client(server.url, key) as holder:
        assert holder.get_dataset(dataset).records < expected["records"]  # it really stopped midway

    resumed = _idcheck(env, *args[1:], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    summary = _summary(resumed.stderr)
    assert int(summary["chunks already acknowledged (--resume)"]) >= 4
    assert summary["repeated ids (the last row kept)"] == "1"
    with Client(server.url, key) as holder:
        detail = holder.get_dataset(dataset)
    assert detail.records == expected["records"] == 100_000
    assert detail.by_kind == expected["by_kind"]
    assert detail.signatures == sum(expected["by_kind"].values())
    # Every chunk was applied exactly once: one upload in the audit log per chunk, none twice.
    with server.client() as client:
        entries = client.get("/v1/audit", params={"limit": 1000}, headers=auth(key)).json()
    uploads = [e for e in entries["entries"] if e["action"] == "records.upload"]
    assert len(uploads) == total_chunks
    assert sum(e["counts"]["records"] for e in uploads) == expected["records"]
    assert not list((tmp_path / "state").glob("push-*.json"))  # a finished push leaves no journal


def _prospects(customers: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    rows = []
    strangers = people(count, seed=77)
    for index, stranger in enumerate(strangers):
        if index % 5 < 2:  # 40 % known, written another way
            person = customers[index % len(customers)]
            rows.append(person | {"email": person["email"].upper(), "phone": person["phone"] + " "})
        else:
            rows.append(stranger)
    rows[1] |= {"last_name": "x" * 300}  # too long to send: invalid in both modes
    rows[2] = {"email": "pas-une-adresse", "phone": "12"}
    for row in rows:
        row.pop("external_id", None)
    return rows


def test_verify_gives_the_same_file_raw_and_signed_locally(server: Server, tmp_path: Path) -> None:
    holder_key, dataset = _holder(server, "verify holder")
    customers = list(people(5_000, seed=6))
    write_csv(tmp_path / "customers.csv", iter(customers))
    pushed = _idcheck(
        _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=holder_key),
        "push",
        str(tmp_path / "customers.csv"),
        "--dataset",
        dataset,
        "--id-column",
        "Référence",
    )
    assert pushed.returncode == 0, pushed.stderr
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "verify buyer")
    prospects = tmp_path / "prospects.csv"
    write_csv(prospects, iter(_prospects(customers, 10_000)))
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=buyer)
    outputs = {}
    for mode in ("raw", "signed"):
        output = tmp_path / f"results-{mode}.csv"
        extra = ["--local-sign"] if mode == "signed" else []
        done = _idcheck(
            env, "verify", str(prospects), "-o", str(output), "--purpose", "test", *extra
        )
        assert done.returncode == 0, done.stderr
        outputs[mode] = output.read_bytes()
    assert outputs["raw"] == outputs["signed"]

    with (tmp_path / "results-raw.csv").open(encoding="utf-8-sig", newline="") as handle:
        results = list(csv.DictReader(handle, delimiter=";"))
    with prospects.open(encoding="utf-8-sig", newline="") as handle:
        inputs = list(csv.DictReader(handle, delimiter=";"))
    assert len(results) == 10_000
    assert all(
        result[HEADER["email"]] == row[HEADER["email"]]
        for result, row in zip(results, inputs, strict=True)
    )
    known = [r for i, r in enumerate(results) if i % 5 < 2 and i not in (1, 2)]
    assert Counter(r["idcheck_verdict"] for r in known)["verified"] >= 0.95 * len(known)
    assert results[1]["idcheck_invalid"] == "last_name"
    assert (results[2]["idcheck_verdict"], results[2]["idcheck_invalid"]) == (
        "invalid",
        "email phone",
    )
    with Client(server.url, buyer) as client:
        (usage,) = client.get_my_usage().rows
    assert usage.records == 20_000  # both runs, each row once


def test_login_saves_a_private_profile_that_later_commands_use(
    server: Server, tmp_path: Path
) -> None:
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "login buyer")
    prospects = tmp_path / "p.csv"
    write_csv(prospects, iter([{"email": "jeanne@exemple.fr", "last_name": "Martin"}]))
    output = tmp_path / "out.csv"
    verify = ["verify", str(prospects), "-o", str(output), "--purpose", "login test"]
    refused = _idcheck(_env(tmp_path), *verify)
    assert refused.returncode == 1
    assert "no API key: run `idcheck login`" in refused.stderr

    wrong = _idcheck(
        _env(tmp_path, IDCHECK_API_KEY="idc_buyer_" + "0" * 40), "login", "--url", server.url
    )
    assert wrong.returncode == 1
    assert "401 unauthenticated" in wrong.stderr

    login = _idcheck(_env(tmp_path, IDCHECK_API_KEY=buyer), "login", "--url", server.url)
    assert login.returncode == 0, login.stderr
    profile = tmp_path / "config" / "profiles.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    done = _idcheck(_env(tmp_path), *verify)  # no key in the environment: the profile's
    assert done.returncode == 0, done.stderr
    assert "verdict" in output.read_text().splitlines()[0]


def test_a_holder_creates_lists_and_reads_datasets(server: Server, tmp_path: Path) -> None:
    with server.client() as client:
        _, holder = remote_org(client, server.admin_key, "holder", "datasets holder")
        _, buyer = remote_org(client, server.admin_key, "buyer", "datasets buyer")
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=holder)
    created = _idcheck(env, "datasets", "create", "CRM 2026", "--legal-basis", "contract")
    assert created.returncode == 0, created.stderr
    dataset = created.stdout.strip()
    assert str(UUID(dataset)) == dataset  # the id alone, for a script to keep
    listed = _idcheck(env, "datasets", "list")
    assert listed.returncode == 0, listed.stderr
    assert dataset in listed.stdout
    assert "CRM 2026" in listed.stdout

    source = tmp_path / "few.csv"
    write_csv(source, people(30, seed=5))
    pushed = _idcheck(env, "push", str(source), "--dataset", dataset, "--id-column", "Référence")
    assert pushed.returncode == 0, pushed.stderr
    shown = _idcheck(env, "datasets", "show", dataset)
    assert shown.returncode == 0, shown.stderr
    rows = _summary(shown.stdout)
    assert rows["records"] == "30"
    assert rows["email"] == "30"
    assert rows["retention (days)"] == "1095"

    basis = _idcheck(env, "datasets", "create", "X", "--legal-basis", "because")
    assert basis.returncode == 2
    assert "'because' is not one of" in basis.stderr
    retention = _idcheck(
        env, "datasets", "create", "X", "--legal-basis", "consent", "--retention-days", "0"
    )
    assert retention.returncode == 2
    assert "--retention-days" in retention.stderr
    missing = _idcheck(env, "datasets", "show", str(uuid4()))
    assert missing.returncode == 1
    assert "404" in missing.stderr
    as_buyer = _idcheck(
        {**env, "IDCHECK_API_KEY": buyer}, "datasets", "create", "X", "--legal-basis", "consent"
    )
    assert as_buyer.returncode == 1
    assert "403" in as_buyer.stderr
    with Client(server.url, holder) as client:
        assert [d.name for d in client.list_datasets().datasets] == ["CRM 2026"]  # nothing else


def test_the_demo_runs_offline_in_under_a_minute(tmp_path: Path) -> None:
    env = _env(tmp_path, HOME=str(tmp_path))
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[proxy] = "http://127.0.0.1:9"  # any attempt to leave the machine would fail
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    done = _idcheck(env, "demo", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified" in done.stdout
    assert "unverified" in done.stdout
    assert "GET /v1/usage?group_by=buyer" in done.stdout


def test_a_new_push_of_the_same_file_applies_again(server: Server, tmp_path: Path) -> None:
    key, dataset = _holder(server, "again holder")
    source = tmp_path / "few.csv"
    write_csv(source, people(50, seed=9))
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=key)
    args = ["push", str(source), "--dataset", dataset, "--id-column", "Référence"]
    assert _idcheck(env, *args).returncode == 0
    with Client(server.url, key) as holder:
        assert holder.delete_records(dataset, ["C00000000", "C00000001"]).deleted == 2
        again = _idcheck(env, *args)  # a new run, not a replay of the first one
        assert again.returncode == 0, again.stderr
        assert holder.get_dataset(dataset).records == 50


def test_a_resume_on_a_later_day_keeps_the_runs_date(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows without an updated column are dated on the run's first day, not the resume's: a push
    begun on 1 November and resumed today uploads 1 November (and so the same chunk lines)."""
    key, dataset = _holder(server, "late holder")
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "late buyer")
    source = tmp_path / "clients.csv"
    customers = list(people(40, seed=13))
    write_csv(source, iter(customers))
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=key)
    monkeypatch.setenv("IDCHECK_STATE_DIR", env["IDCHECK_STATE_DIR"])
    begun = Journal.open(
        source, dataset, 10, resume=False, key_version=1
    )  # as the interrupted push left it
    begun.default_updated = "2026-11-01"
    begun.save()
    args = ["push", str(source), "--dataset", dataset, "--id-column", "Référence"]
    resumed = _idcheck(env, *args, "--chunk-size", "10", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    with Client(server.url, buyer) as client:
        answer = client.verify([{"email": customers[-1]["email"]}], "date test")
    assert answer.results[0].checks["email"].last_seen == date(2026, 11, 1)


def test_push_and_local_sign_send_no_raw_value(server: Server, tmp_path: Path) -> None:
    """Everything push and verify --local-sign send goes through a proxy that reads it all."""
    parts = urlsplit(server.url)
    proxy = FaultyProxy((parts.hostname or "127.0.0.1", parts.port or 80))
    key, dataset = _holder(server, "raw holder")
    customers = list(people(300, seed=12))
    write_csv(tmp_path / "customers.csv", iter(customers))
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "raw buyer")
    try:
        holder_env = _env(tmp_path, IDCHECK_URL=proxy.url, IDCHECK_API_KEY=key)
        customers_csv = str(tmp_path / "customers.csv")
        push = ["push", customers_csv, "--dataset", dataset, "--chunk-size", "100"]
        pushed = _idcheck(holder_env, *push)
        assert pushed.returncode == 0, pushed.stderr
        write_csv(tmp_path / "prospects.csv", iter(customers[:50]))
        buyer_env = _env(tmp_path, IDCHECK_URL=proxy.url, IDCHECK_API_KEY=buyer)
        prospects, out = str(tmp_path / "prospects.csv"), str(tmp_path / "out.csv")
        verify = ["verify", prospects, "-o", out, "--purpose", "test", "--local-sign"]
        verified = _idcheck(buyer_env, *verify)
        assert verified.returncode == 0, verified.stderr
    finally:
        proxy.close()
    sent = b"\n".join(seen.body for seen in proxy.seen).decode().casefold()
    assert [seen.path.split("/")[-1] for seen in proxy.seen if seen.body].count("records") == 3
    assert any(seen.path == "/v1/verify/signed" for seen in proxy.seen)
    raw = {
        value
        for person in customers
        for name, value in person.items()
        if name in ("email", "last_name", "street", "phone") and len(value) > 5
    }
    # As typed, and as JSON writes it (accents escaped); a phone only where it cannot be hex.
    forms = {form.casefold() for value in raw for form in (value, json.dumps(value)[1:-1])}
    forms = {form for form in forms if not form.isdigit()}
    assert len(forms) > 600
    leaked = sorted(form for form in forms if form in sent)
    assert leaked == []


def _verify_under_quota(
    server: Server, tmp_path: Path, rows: int, concurrency: int
) -> tuple[subprocess.CompletedProcess[str], Path, Path, str]:
    """`idcheck verify` of ROWS people by a new buyer whose month allows 1,500 records:
    the command's run, the prospects, the output and the buyer's key."""
    with server.client() as client:
        buyer_id, buyer = remote_org(client, server.admin_key, "buyer", f"quota buyer {rows}")
        quota = client.put(
            f"/v1/admin/orgs/{buyer_id}/quota",
            json={"monthly_records": 1500},
            headers=auth(server.admin_key),
        )
        assert quota.status_code == 200
    prospects = tmp_path / "prospects.csv"
    write_csv(prospects, people(rows, seed=21))
    output = tmp_path / "results.csv"
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=buyer)
    done = _idcheck(
        env,
        "verify",
        str(prospects),
        "-o",
        str(output),
        "--purpose",
        "quota test",
        "--concurrency",
        str(concurrency),
    )
    return done, prospects, output, buyer


def test_verify_stopped_by_the_quota_keeps_the_rows_answered(
    server: Server, tmp_path: Path
) -> None:
    done, _, output, _ = _verify_under_quota(server, tmp_path, 3000, concurrency=1)
    assert done.returncode == 1
    assert "stopped after 1,000 rows" in done.stderr
    assert "429 quota_exceeded" in done.stderr
    with output.open(encoding="utf-8-sig", newline="") as handle:
        assert (
            len(list(csv.DictReader(handle, delimiter=";"))) == 1000
        )  # what was answered, and billed
    assert not list(tmp_path.glob(".*.part"))


def test_verify_keeps_answers_that_arrive_after_a_refusal(server: Server, tmp_path: Path) -> None:
    """Three batches in flight (1,000, 1,000, 300) against a quota of 1,500: whatever order they
    reach the server in, one batch of 1,000 is refused and the other two are answered and billed.
    Every billed row is in the file; a refused batch before the last answer is marked `error`."""
    done, prospects, output, buyer = _verify_under_quota(server, tmp_path, 2300, concurrency=3)
    assert done.returncode == 1
    assert "429 quota_exceeded" in done.stderr
    with output.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.DictReader(handle, delimiter=";"))
    with prospects.open(encoding="utf-8-sig", newline="") as handle:
        references = [row["Référence"] for row in csv.DictReader(handle, delimiter=";")]
    with Client(server.url, buyer) as client:
        (usage,) = client.get_my_usage().rows
    answered = [row for row in written if row["idcheck_verdict"] != "error"]
    assert usage.billable_records == len(answered) == 1300
    assert [row["Référence"] for row in written] == references  # the input's order
    # The 300 always fit, so the refused batch is the first or the second: a gap, not a tail.
    assert len(written) == 2300
    assert Counter(row["idcheck_verdict"] for row in written)["error"] == 1000
    assert "1,000 of them refused" in done.stderr
