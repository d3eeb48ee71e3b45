"""Every copy of a closed set agrees with its one definition (schemas/vocabulary.py and
signatures/kinds.py): the OpenAPI document, the docs' error table, the SDK's exceptions, the
server's errors and metrics, the API key format, the audit actions the services write."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from app.auth import check_role
from app.errors import IdcheckError
from app.metrics import Metrics
from app.models import ROLES
from app.models import SCHEMES
from app.models import KeyVersion
from app.models import Org
from app.services.principals import KEY_PATTERN
from app.services.principals import Principal
from idcheck.client._exceptions import _BY_CODE
from schemas.vocabulary import STATUS
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Endpoint
from schemas.vocabulary import ErrorCode
from schemas.vocabulary import Role
from schemas.vocabulary import SnapshotState
from schemas.vocabulary import Verdict
from signatures import FIELDS
from signatures import KINDS
from signatures import PAIR_KINDS
from signatures import Scheme

ROOT = Path(__file__).parents[1]
SCHEMA = json.loads((ROOT / "docs" / "openapi.json").read_text())


def _enums(node: Any) -> Iterator[list[str]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


@pytest.mark.parametrize(
    ("component", "members"),
    [
        ("Role", list(Role)),
        ("Verdict", list(Verdict)),
        ("SnapshotState", list(SnapshotState)),
        ("AuditAction", list(AuditAction)),
        ("Scheme", list(Scheme)),
    ],
)
def test_the_openapi_document_lists_each_set_whole(component: str, members: list[str]) -> None:
    assert SCHEMA["components"]["schemas"][component]["enum"] == members


def test_every_enum_of_kinds_or_fields_in_the_openapi_document_is_whole() -> None:
    kinds = [enum for enum in _enums(SCHEMA) if "email_name" in enum]
    fields = [enum for enum in _enums(SCHEMA) if "birth_date" in enum]
    assert kinds
    pair_kinds = [kind for kind in KINDS if kind in PAIR_KINDS]  # the close forms' keys
    assert all(enum in (list(KINDS), pair_kinds) for enum in kinds)
    assert pair_kinds in kinds
    assert fields
    assert all(enum == list(FIELDS) for enum in fields)


def test_the_docs_error_table_gives_every_code_once_with_its_status() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    table = text[text.index("| status | codes |") :].split("\n\n")[0]
    listed = {
        code: int(row.split("|")[1])
        for row in table.splitlines()[2:]
        for code in re.findall(r"`([a-z_]+)`", row.split("|")[2])
    }
    assert listed == STATUS
    assert set(STATUS) == set(ErrorCode)


def test_server_and_sdk_errors_use_the_defined_codes() -> None:
    def subclasses(kind: type[IdcheckError]) -> Iterator[type[IdcheckError]]:
        for sub in kind.__subclasses__():
            yield sub
            yield from subclasses(sub)

    assert {error.code for error in subclasses(IdcheckError)} <= set(ErrorCode)
    assert set(_BY_CODE) <= set(ErrorCode)


def test_the_database_checks_name_each_set_whole() -> None:
    checks = {
        constraint.name: str(constraint.sqltext)
        for table in (Org.metadata.tables["orgs"], KeyVersion.metadata.tables["key_versions"])
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }
    assert checks == {
        "ck_orgs_role": "role IN ('admin', 'holder', 'buyer', 'finance')",
        "ck_key_versions_scheme": "scheme IN ('hmac-sha256', 'oprf-ristretto255-sha512')",
    }
    assert tuple(Role) == ROLES
    assert tuple(Scheme) == SCHEMES


def test_roles_are_one_set_in_the_database_the_key_format_and_the_checks() -> None:
    for role in Role:
        assert KEY_PATTERN.fullmatch(f"idc_{role}_{'0' * 40}")
        assert KEY_PATTERN.fullmatch(f"idc_{role}_test_{'0' * 40}")
        principal = Principal(org_id=uuid4(), org_name="o", role=role, key_id=uuid4())
        check_role(principal, [role], "list_orgs")
    assert not KEY_PATTERN.fullmatch(f"idc_auditor_{'0' * 40}")


def test_every_audit_action_is_written_by_the_service_that_acts() -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))
    written = set(re.findall(r"AuditAction\.([A-Z_]+)", source))
    written |= {AuditAction(f"verify.{endpoint}").name for endpoint in Endpoint}
    assert written == {action.name for action in AuditAction}


def test_metrics_have_a_series_for_every_kind_and_endpoint() -> None:
    exposition = Metrics().registry
    labels = {
        (sample.labels.get("kind"), sample.labels.get("endpoint"))
        for metric in exposition.collect()
        for sample in metric.samples
    }
    assert {kind for kind, _ in labels if kind} == set(KINDS)
    assert {endpoint for _, endpoint in labels if endpoint} == set(Endpoint)
