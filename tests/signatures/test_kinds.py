"""The kinds' storage codes are stored data: frozen here. A kind added anywhere in the list takes
the next unused code; changing or reusing a code fails this test (it would silently turn every
stored signature of one kind into another)."""

from typing import get_args

from signatures import FIELDS
from signatures import KIND_CODES
from signatures import KIND_NAMES
from signatures import KINDS
from signatures import FieldName
from signatures import Kind

FROZEN = {
    "email": 1,
    "phone": 2,
    "email_name": 3,
    "phone_name": 4,
    "name_address": 5,
    "name_birth_date": 6,
}


def test_the_stored_codes_never_change() -> None:
    assert {kind: KIND_CODES[kind] for kind in FROZEN} == FROZEN


def test_a_new_kind_takes_a_code_no_kind_ever_had() -> None:
    added = {kind: code for kind, code in KIND_CODES.items() if kind not in FROZEN}
    assert all(code > max(FROZEN.values()) for code in added.values())
    assert len(set(KIND_CODES.values())) == len(KIND_CODES)
    assert {code: kind for kind, code in KIND_CODES.items()} == KIND_NAMES


def test_every_kind_has_a_code_fields_and_a_name_in_the_literal() -> None:
    assert list(KINDS) == list(KIND_CODES) == list(get_args(Kind))
    assert get_args(FieldName) == FIELDS
    assert all(KINDS[kind] and set(KINDS[kind]) <= set(FIELDS) for kind in KINDS)
