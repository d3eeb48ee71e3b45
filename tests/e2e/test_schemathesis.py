"""schemathesis over the service's own OpenAPI schema, against a real server, with valid keys:
a bounded number of examples per operation, all default checks, no 5xx, no schema violation."""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.e2e.conftest import Server, new_org

EXAMPLES_PER_OPERATION = 30


def _role(path: str) -> str:
    if path.startswith("/v1/admin") or path == "/v1/usage":
        return "admin"
    if path.startswith("/v1/datasets"):
        return "holder"
    return "buyer"


def _check(operation: Any, headers: dict[str, str]) -> None:
    # Rules no JSON schema can state, so data valid by the schema may be refused (422) there, and
    # only there: an upload's dates must not be in the future and its external_ids must not
    # repeat; an objection needs an email or phone valid by the spec's normalisation (or, signed,
    # at least one signature). Every other check runs on every operation.
    semantic = operation.label.endswith("/records") or operation.label.endswith("/optouts")
    excluded = [positive_data_acceptance] if semantic else []

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


def test_no_server_error_and_no_schema_violation(server: Server) -> None:
    with server.client() as client:
        keys = {
            role: new_org(client, server.admin_key, role, f"fuzz-{role}")[1]
            for role in ("holder", "buyer")
        }
    keys["admin"] = server.admin_key
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
