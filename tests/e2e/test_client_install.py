"""`pip install .` is what a holder or a buyer installs: the tools and the SDK, nothing of the
server. In a fresh virtual environment of its own, that install signs a CSV, pushes it and
verifies prospects (signed locally) against a server installed with `.[server]` (this one)."""

import csv
import json
import os
import shutil
import subprocess
import venv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.people import people
from app.cli.people import write_csv
from idcheck.client import Client
from tests.helpers.databases import ROOT
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

#: What only the server runs on: none of it may reach a holder's or a buyer's machine.
SERVER_ONLY = ("fastapi", "starlette", "sqlalchemy", "asyncpg", "aiosqlite", "alembic", "uvicorn")
_NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", ".*_cache", ".hypothesis", "tests"
)


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment where `pip install .` ran."""
    work = tmp_path_factory.mktemp("client-install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)  # the tree a user clones, built apart
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    installed = subprocess.run(
        [bin_dir / "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return bin_dir


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


def test_the_default_install_holds_nothing_of_the_server(tools: Path) -> None:
    listed = subprocess.run(
        [tools / "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert "idcheck" in names
    assert names.isdisjoint(SERVER_ONLY), names & set(SERVER_ONLY)
    commands = subprocess.run([tools / "idcheck", "--help"], capture_output=True, text=True)
    assert commands.returncode == 0, commands.stderr
    assert "push" in commands.stdout
    assert "pip install 'idcheck[server]'" in commands.stdout
    serve = subprocess.run([tools / "idcheck", "serve"], capture_output=True, text=True)
    assert serve.returncode == 2  # no such command here


def _run(tools: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(tools / "idcheck"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sign_push_and_verify_from_the_default_install(
    tools: Path, server: Server, tmp_path: Path
) -> None:
    with server.client() as client:
        _, holder = remote_org(client, server.admin_key, "holder", "installed holder")
        _, buyer = remote_org(client, server.admin_key, "buyer", "installed buyer")
    with Client(server.url, holder) as sdk:
        dataset = str(sdk.create_dataset("installed", "contract").id)
        (tmp_path / "key.json").write_text(sdk.get_signing_key().model_dump_json())
    customers = tmp_path / "customers.csv"
    write_csv(customers, people(200, seed=11))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IDCHECK_", "VIRTUAL_ENV"))}
    env = clean | {"IDCHECK_STATE_DIR": str(tmp_path / "state"), "IDCHECK_URL": server.url}
    signed = tmp_path / "signed.ndjson"
    _run(tools, env, "sign", str(customers), "--key-file", str(tmp_path / "key.json"),
         "-o", str(signed), "--id-column", "Référence")  # fmt: skip
    lines = signed.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    assert "email" not in json.loads(lines[0])  # signatures only
    holder_env = env | {"IDCHECK_API_KEY": holder}
    _run(tools, holder_env, "push", str(customers), "--dataset", dataset,
         "--id-column", "Référence")  # fmt: skip
    with Client(server.url, holder) as sdk:
        assert sdk.get_dataset(dataset).records == 200
    results = tmp_path / "results.csv"
    _run(tools, env | {"IDCHECK_API_KEY": buyer}, "verify", str(customers), "-o", str(results),
         "--purpose", "install check", "--local-sign")  # fmt: skip
    with results.open(encoding="utf-8-sig", newline="") as handle:
        verdicts = Counter(row["idcheck_verdict"] for row in csv.DictReader(handle, delimiter=";"))
    assert verdicts.total() == 200
    assert verdicts["verified"] >= 150  # the same people: all but the few with invalid fields
