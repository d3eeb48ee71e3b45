"""`idcheck serve`, `migrate` and `admin` as an operator runs them."""

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.commands import IDCHECK
from tests.helpers.databases import MASTER_KEY


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    return subprocess.run(
        [str(IDCHECK), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_admin_bootstrap_on_the_embedded_default(tmp_path: Path) -> None:
    # README's order: the database and its key first (migrate, or serve), then the admin.
    migrated = _run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    key_file = tmp_path / "idcheck.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "created a new master key" in migrated.stderr
    assert f"created a new database in {tmp_path / 'idcheck.db'}" in migrated.stderr
    created = _run(["admin", "create-org", "Root", "--role", "admin"], tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stderr == (
        f"idcheck: database {tmp_path / 'idcheck.db'}, master key {key_file}\n"
    )
    key = _run(["admin", "create-key", "Root", "--label", "ops"], tmp_path)
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("idc_admin_")
    by_id = _run(["admin", "create-key", created.stdout.strip()], tmp_path)
    assert by_id.returncode == 0
    assert by_id.stdout != key.stdout
    again = _run(["admin", "create-org", "Root", "--role", "buyer"], tmp_path)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    missing = _run(["admin", "create-key", "Nobody"], tmp_path)
    assert missing.returncode == 1
    assert "no organisation" in missing.stderr
    assert "created a new master key" not in missing.stderr  # said once, on first start


def test_a_database_without_its_key_is_not_given_a_new_one(tmp_path: Path) -> None:
    assert _run(["migrate"], tmp_path).returncode == 0
    assert _run(["admin", "create-org", "Root", "--role", "admin"], tmp_path).returncode == 0
    (tmp_path / "idcheck.key").unlink()
    refused = _run(["serve"], tmp_path)
    assert refused.returncode == 1
    assert "restore the master key" in refused.stderr
    assert not (tmp_path / "idcheck.key").exists()


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    refused = _run(["serve"], tmp_path, IDCHECK_ENV="production")
    assert refused.returncode == 1
    assert "IDCHECK_MASTER_KEY" in refused.stderr
    assert not (tmp_path / "idcheck.key").exists()


def test_placeholder_and_short_master_keys_are_refused(tmp_path: Path) -> None:
    bad = ("00" * 32, "ab" * 32, "changeme", "12" * 16)
    for value in bad:
        refused = _run(["migrate"], tmp_path, IDCHECK_MASTER_KEY=value)
        assert refused.returncode == 1, value
        assert "master key" in refused.stderr
        assert not (tmp_path / "idcheck.db").exists()  # no database made for a key refused
    assert _run(["migrate"], tmp_path, IDCHECK_MASTER_KEY=MASTER_KEY).returncode == 0
    for value in bad:
        refused = _run(
            ["admin", "create-org", "x", "--role", "admin"], tmp_path, IDCHECK_MASTER_KEY=value
        )
        assert refused.returncode == 1, value
        assert "master key" in refused.stderr


def test_commands_from_another_folder_make_no_database(tmp_path: Path) -> None:
    """admin, usage and purge never make an empty database (and key) where serve made none."""
    server, elsewhere = tmp_path / "server", tmp_path / "elsewhere"
    server.mkdir()
    elsewhere.mkdir()
    assert _run(["migrate"], server).returncode == 0
    for args in (
        ["admin", "create-key", "Root"],
        ["admin", "create-org", "Root", "--role", "admin"],
        ["usage", "export", "--from", "2026-11-01", "--to", "2026-12-01"],
        ["purge"],
    ):
        refused = _run(args, elsewhere)
        assert refused.returncode == 1, args
        assert f"no database at {elsewhere / 'idcheck.db'}" in refused.stderr
        assert refused.stdout == ""
        assert list(elsewhere.iterdir()) == [], args


def test_production_refuses_public_metrics_unless_declared(tmp_path: Path) -> None:
    key = {"IDCHECK_ENV": "production", "IDCHECK_MASTER_KEY": MASTER_KEY}
    refused = _run(["serve"], tmp_path, **key)
    assert refused.returncode == 1
    assert "IDCHECK_METRICS_TOKEN" in refused.stderr
    assert not (tmp_path / "idcheck.db").exists()
    declared = _run(["migrate"], tmp_path, **key, IDCHECK_METRICS_PUBLIC="true")
    assert declared.returncode == 0, declared.stderr


def test_production_serves_no_docs(tmp_path: Path) -> None:
    code = (
        "from app.main import create_app; from app.settings import Settings;"
        "app = create_app(Settings(env='production', master_key='5e' + '17' * 31,"
        " metrics_token='t' * 32));"
        "print(app.openapi_url, app.docs_url)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "None None"


def test_sqlite_serves_one_worker(tmp_path: Path) -> None:
    refused = _run(["serve", "--workers", "2"], tmp_path)
    assert refused.returncode == 1
    assert "PostgreSQL" in refused.stderr


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = "postgresql://postgres:s3cret-password@127.0.0.1:1/none"
    for args in (["migrate"], ["admin", "create-org", "x", "--role", "admin"]):
        refused = _run(
            args,
            tmp_path,
            IDCHECK_DATABASE_URL=url,
            IDCHECK_MASTER_KEY="5e" + "c4" * 20 + "0123456789abcdef" * 3,
        )
        assert refused.returncode == 1
        where, error = refused.stderr.splitlines()  # which database, then one line of error
        assert where == "idcheck: database postgresql+asyncpg://postgres:***@127.0.0.1:1/none" + (
            ", master key from IDCHECK_MASTER_KEY" if args[0] == "admin" else ""
        )
        assert error.startswith("Error: database: ")
        assert "s3cret" not in refused.stderr


def test_lifecycle_commands_on_the_embedded_default(tmp_path: Path) -> None:
    objections = tmp_path / "objections.csv"
    objections.write_text(
        "Courriel;Téléphone\nanne@example.fr;\n;06 11 22 33 44\nnope;12\n", "utf-8"
    )
    assert _run(["migrate"], tmp_path).returncode == 0
    done = _run(["admin", "optout", "--file", str(objections)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 objections recorded, 1 rows without a valid email or phone" in done.stderr
    rotated = _run(["admin", "rotate-signing-key"], tmp_path)
    assert (rotated.returncode, rotated.stdout) == (0, "2\n")
    retired = _run(["admin", "retire-signing-key", "1"], tmp_path)
    assert retired.returncode == 0, retired.stderr
    current = _run(["admin", "retire-signing-key", "2"], tmp_path)
    assert current.returncode == 1
    assert "current version" in current.stderr
    purged = _run(["purge"], tmp_path)
    assert purged.returncode == 0
    assert purged.stderr.splitlines()[-1] == "purged 0 expired records"
    no_column = tmp_path / "names.csv"
    no_column.write_text("Nom\nDupont\n", "utf-8")
    refused = _run(["admin", "optout", "--file", str(no_column)], tmp_path)
    assert refused.returncode == 1
    assert "no email or phone column" in refused.stderr


def test_readme_bootstrap_in_the_order_written(tmp_path: Path) -> None:
    """README: `make run` (idcheck serve) in one terminal, then `idcheck admin create-org` and
    `create-key` in the same folder; the key works against the running server."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    server = subprocess.Popen(
        [str(IDCHECK), "serve", "--port", str(port)],
        cwd=tmp_path, env=clean, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert _run(["admin", "create-org", "Ops", "--role", "admin"], tmp_path).returncode == 0
        admin = _run(["admin", "create-key", "Ops"], tmp_path)
        assert admin.returncode == 0, admin.stderr
        orgs = httpx.get(
            f"{base}/v1/admin/orgs", headers={"Authorization": f"Bearer {admin.stdout.strip()}"}
        )
        assert orgs.status_code == 200, orgs.text
        assert [org["name"] for org in orgs.json()["orgs"]] == ["idcheck sandbox (built in)", "Ops"]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert f"created a new database in {tmp_path / 'idcheck.db'}" in stderr.decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _run(["serve", "--port", str(port)], tmp_path)
    assert refused.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in refused.stderr
    assert f"make run PORT={port + 1}" in refused.stderr
    assert "Errno" not in refused.stderr
    assert not (tmp_path / "idcheck.db").exists()  # nothing made for a server that cannot start


def test_make_run_takes_a_port_and_make_test_says_how_long() -> None:
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "run", "PORT=8123",
         "HOST=0.0.0.0"],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    commands = run.stdout.splitlines()
    assert any(line.endswith("idcheck serve --host 0.0.0.0 --port 8123") for line in commands)
    test = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "test"],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "minutes" in test.stdout
