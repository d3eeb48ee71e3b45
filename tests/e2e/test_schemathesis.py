"""schemathesis over the service's own OpenAPI schema, against a real server, with valid keys:
a bounded number of examples per operation, all default checks, no 5xx, no schema violation;
then the stateful phase (sequences of calls chained by the links schemathesis infers), once per
role. One server per backend for the module."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from schemathesis.checks import positive_data_acceptance

from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

EXAMPLES_PER_OPERATION = 30
STATEFUL_EXAMPLES = 15


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    with server.client() as client:
        keys = {
            role: remote_org(client, server.admin_key, role, f"fuzz-{role}")[1]
            for role in ("holder", "buyer")
        }
    keys["admin"] = server.admin_key
    return keys


def _role(path: str) -> str:
    if path.startswith("/v1/admin") or path == "/v1/usage":
        return "admin"
    if path.startswith("/v1/datasets"):
        return "holder"
    return "buyer"


def _excluded(label: str) -> list[Any]:
    # Rules no JSON schema can state, so data valid by the schema may be refused (422) there, and
    # only there: an upload's dates must not be in the future and its external_ids must not
    # repeat; an objection needs an email or phone valid by the spec's normalisation (or, signed,
    # at least one signature); a blind evaluation needs a live OPRF version and elements that are
    # canonical encodings of group elements other than the identity; a list's starting_after
    # must name an item of that list, and a usage report's relative period excludes from/to
    # dates. Every other check runs on every operation.
    semantic = label.endswith(("/records", "/optouts", "/oprf/evaluate"))
    listed = label.startswith("GET ") and label.endswith(_LISTS)
    return [positive_data_acceptance] if semantic or listed else []


#: The lists (cursor pagination) and the usage reports (relative periods), by path.
_LISTS = ("/v1/admin/orgs", "/keys", "/v1/datasets", "/audit", "/v1/usage", "/v1/usage/me")


def _check(operation: Any, headers: dict[str, str]) -> None:
    excluded = _excluded(operation.label)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded, timeout=30)

    check()


def test_no_server_error_and_no_schema_violation(server: Server, keys: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # Rotating and retiring key versions changes what the others accept (the schema, read once,
    # lists the live versions): those go last.
    operations.sort(key=lambda operation: operation.path.startswith("/v1/admin/key-versions"))
    tested = []
    for operation in operations:
        _check(operation, {"Authorization": f"Bearer {keys[_role(operation.path)]}"})
        tested.append(operation.label)
    assert len(tested) >= 13


SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
#: Each role's operations; the admin goes last (it rotates and retires key versions).
ROLES = {
    "holder": r"^/v1/(datasets|optouts|audit|signing-key|key-versions/current|oprf|usage/me)",
    "buyer": (
        r"^/(v1/(verify|signing-key|key-versions/current|oprf|usage/me)|healthz|readyz|metrics)"
    ),
    "finance": r"^/v1/usage",
    "admin": r"^/v1/(admin|usage$)",
}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_phase_for_each_role_finds_nothing(
    server: Server, keys: dict[str, str], role: str
) -> None:
    """`schemathesis run` from outside, as an auditor would: examples, coverage, fuzzing and the
    stateful phase (chains of calls along the links it infers: create a dataset, upload into it,
    open a snapshot, abort it, get it again...), every check (use-after-free included), with this
    role's key on its own operations. In CI the seed is fixed, so a red run can be replayed."""
    if role not in keys:
        with server.client() as client:
            keys[role] = remote_org(client, server.admin_key, role, f"fuzz-{role}")[1]
    seed = ["--seed", "20261201"] if os.environ.get("CI") else []
    done = subprocess.run(
        [
            SCHEMATHESIS, "--config-file", str(CONFIG), "--no-color", "run",
            f"{server.url}/openapi.json",
            "--header", f"Authorization: Bearer {keys[role]}",
            "--include-path-regex", ROLES[role],
            "--max-examples", str(STATEFUL_EXAMPLES),
            "--request-timeout", "30",
            *seed,
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
    assert "Stateful" in done.stdout
