"""What a newcomer meets on the command line, against one real server (JSON logs) per backend:
the admin CLI over HTTP, push's update column, invalid counts and rejects, verify's output in the
input's format, the messages for an unknown profile, a resume with nothing to resume and an
unreachable server, and the server's log lines with their request ids."""

import csv
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.commands import IDCHECK
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(
        module_database,
        tmp_path_factory.mktemp("server"),
        extra_env={"IDCHECK_LOG_FORMAT": "json"},
    )


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    return env | {
        "IDCHECK_STATE_DIR": str(tmp_path / "state"),
        "IDCHECK_CONFIG_DIR": str(tmp_path / "config"),
        **more,
    }


def _idcheck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDCHECK, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_server_logs_json_lines_with_each_request_s_id(server: Server) -> None:
    sentinel = {"email": "sentinel.json.log@exemple.fr", "phone": "06 98 76 54 31"}
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "json log buyer")
        verified = client.post(
            "/v1/verify", json={"purpose": "p", "records": [sentinel]}, headers=auth(buyer)
        )
        answer = client.get("/healthz", headers={"X-Request-Id": "support-case-000000042"})
        denied = client.get("/v1/datasets")
    assert verified.status_code == 200
    # A request's access line is written once its answer has gone: wait for the last one's.
    deadline = time.monotonic() + 10
    while denied.headers["x-request-id"] not in server.log.read_text():
        assert time.monotonic() < deadline, "the last request's access line never came"
        time.sleep(0.05)
    assert "sentinel" not in server.log.read_text()
    assert "98 76 54 31" not in server.log.read_text()
    assert answer.headers["x-request-id"] == "support-case-000000042"
    # Every line is JSON but the command's own first line (which database, which key).
    said, *logged = server.log.read_text().splitlines()
    assert said.startswith("idcheck: database ")
    lines = [json.loads(line) for line in logged if line.strip()]
    assert {"time", "level", "logger", "request_id", "message"} <= set(lines[-1])
    by_id = {
        line["request_id"]: line["message"] for line in lines if line["logger"] == "idcheck.access"
    }
    assert by_id["support-case-000000042"].startswith("GET /healthz 200")
    assert by_id[denied.headers["x-request-id"]].startswith("GET /v1/datasets 401")
    assert denied.json()["error"]["request_id"] == denied.headers["x-request-id"]


def test_an_admin_manages_organisations_keys_and_quotas_over_http(
    server: Server, tmp_path: Path
) -> None:
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=server.admin_key)
    made = _idcheck(env, "manage", "create-org", "CLI buyer", "--role", "buyer")
    assert made.returncode == 0, made.stderr
    org = made.stdout.strip()
    key = _idcheck(env, "manage", "create-key", org, "--label", "ci")
    test_key = _idcheck(env, "manage", "create-key", org, "--test")
    assert key.stdout.startswith("idc_buyer_")
    assert test_key.stdout.startswith("idc_buyer_test_")
    assert _idcheck(env, "manage", "set-quota", org, "1,000").returncode == 0
    quota = _idcheck(env, "manage", "quota", org)
    assert quota.returncode == 0, quota.stderr
    assert "1,000" in quota.stdout
    listed = _idcheck(env, "manage", "keys", org)
    assert key.stdout.strip()[:18] in listed.stdout  # by prefix, never the key
    assert key.stdout.strip() not in listed.stdout
    orgs = _idcheck(env, "manage", "orgs")
    assert "CLI buyer" in orgs.stdout
    assert "idcheck sandbox" in orgs.stdout
    with server.client() as client:
        keys = client.get(f"/v1/admin/orgs/{org}/keys", headers=auth(server.admin_key)).json()
    revoked = _idcheck(env, "manage", "revoke-key", keys["keys"][0]["id"])
    assert revoked.returncode == 0, revoked.stderr
    with server.client() as client:
        gone = client.get("/v1/usage/me", headers=auth(key.stdout.strip()))
    assert gone.status_code == 401
    bad = _idcheck(env, "manage", "set-quota", org, "lots")
    assert bad.returncode == 2
    assert "'lots' is not a whole number" in bad.stderr
    as_buyer = _idcheck({**env, "IDCHECK_API_KEY": test_key.stdout.strip()}, "manage", "orgs")
    assert as_buyer.returncode == 1
    assert "403" in as_buyer.stderr


def test_push_takes_the_update_column_and_lists_what_it_left_out(
    server: Server, tmp_path: Path
) -> None:
    with server.client() as client:
        _, holder = remote_org(client, server.admin_key, "holder", "update column holder")
        _, buyer = remote_org(client, server.admin_key, "buyer", "update column buyer")
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=holder)
    dataset = _idcheck(env, "datasets", "create", "CRM", "--legal-basis", "contract").stdout.strip()
    source = tmp_path / "clients.csv"
    source.write_text(
        "Réf;Nom;Courriel;Date de mise à jour\n"
        "1;Dupont;jean.dupont@orange.fr;12/10/2026\n"
        "2;Curie;marie.curie@@free.fr;01/09/2026\n"
        "3;Martin;paul.martin@free.fr;2026-08-30\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    nothing_yet = _idcheck(
        env, "push", str(source), "--dataset", dataset, "--id-column", "Réf",
        "--rejects", str(rejects), "--resume",
    )  # fmt: skip
    assert nothing_yet.returncode == 0, nothing_yet.stderr
    assert "updated_at='Date de mise à jour'" in nothing_yet.stderr
    assert "nothing to resume" in nothing_yet.stderr
    assert "invalid email" in nothing_yet.stderr
    with rejects.open(encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert [(row["line"], row["fields"]) for row in listed] == [("3", "email")]
    with httpx.Client(base_url=server.url) as client:
        answer = client.post(
            "/v1/verify",
            json={"purpose": "t", "records": [{"email": "jean.dupont@orange.fr"}]},
            headers=auth(buyer),
        ).json()
    assert answer["results"][0]["checks"]["email"]["last_seen"] == "2026-10-12"


def test_verify_writes_the_input_s_separator_and_encoding(server: Server, tmp_path: Path) -> None:
    with server.client() as client:
        _, buyer = remote_org(client, server.admin_key, "buyer", "excel buyer")
    env = _env(tmp_path, IDCHECK_URL=server.url, IDCHECK_API_KEY=buyer)
    source = tmp_path / "prospects.csv"
    source.write_bytes("Prénom;Nom;Courriel\nHélène;Dupré;h.dupre@orange.fr\n;;\n".encode("cp1252"))
    output = tmp_path / "results.csv"
    done = _idcheck(env, "verify", str(source), "-o", str(output), "--purpose", "excel")
    assert done.returncode == 0, done.stderr
    lines = output.read_bytes().decode("cp1252").splitlines()  # cp1252 in, cp1252 out
    assert lines[0].startswith("Prénom;Nom;Courriel;idcheck_verdict;")
    assert lines[1].startswith("Hélène;Dupré;h.dupre@orange.fr;unverified;")
    blank = lines[2].split(";")
    assert (blank[3], blank[-1]) == ("invalid", "(empty: no value to check)")
    chosen = _idcheck(
        env, "verify", str(source), "-o", str(output), "--purpose", "excel",
        "--output-delimiter", "comma", "--output-encoding", "utf-8-bom",
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    assert output.read_bytes().startswith("\ufeffPrénom,Nom,Courriel,".encode())


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_clear_messages_for_a_missing_profile_and_an_unreachable_server(tmp_path: Path) -> None:
    env = _env(tmp_path)
    unknown = _idcheck(env, "datasets", "list", "--profile", "nosuch")
    assert unknown.returncode == 1
    assert "no profile 'nosuch' (profiles: none yet)" in unknown.stderr
    assert "idcheck login --profile nosuch" in unknown.stderr
    away = _idcheck(
        env, "datasets", "list", "--url", f"http://127.0.0.1:{_closed_port()}",
        "--api-key", "idc_holder_" + "0" * 40,
    )  # fmt: skip
    assert away.returncode == 1
    lines = away.stderr.strip().splitlines()
    assert len(lines) == 2, away.stderr  # one line when it starts retrying, one when it gives up
    assert "trying again" in lines[0]
    assert "cannot reach the server" in lines[1]
    assert "after 5 tries" in lines[1]
