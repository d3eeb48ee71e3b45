"""The public normalisation cases of ../shared/vectors/normalization.json, read from the file."""

import json
from typing import Any

import pytest

from signatures import normalize_field
from tests.helpers.databases import SHARED

VECTORS = SHARED / "vectors" / "normalization.json"


def _cases() -> list[Any]:
    document = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert document["spec"] == "idcheck-v1"
    return [
        pytest.param(case, id=f"{index}-{case['field']}-{case['source']}")
        for index, case in enumerate(document["cases"])
    ]


def test_the_file_has_cases() -> None:
    assert len(_cases()) >= 40


@pytest.mark.parametrize("case", _cases())
def test_public_case(case: dict[str, Any]) -> None:
    got = normalize_field(case["field"], case["input"], **case["options"])
    assert got == case["expected"], case["source"]
