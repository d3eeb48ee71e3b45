"""The kinds' storage codes are stored data: frozen here. A kind added anywhere in the list takes
the next unused code; changing or reusing a code fails this test (it would silently turn every
stored signature of one kind into another)."""

from typing import get_args

from signatures import CLOSE_SLOTS
from signatures import FIELDS
from signatures import KIND_CODES
from signatures import KIND_NAMES
from signatures import KINDS
from signatures import MAX_CLOSE_FORMS
from signatures import PAIR_KINDS
from signatures import SLOT_CODES
from signatures import SLOT_KINDS
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


def test_close_slots_take_codes_of_their_own_frozen_by_their_kind() -> None:
    """A close form is stored under 32 x its kind's code + its slot: stored data, frozen too."""
    assert SLOT_CODES["email_name~1"] == 97
    assert SLOT_CODES["name_birth_date~24"] == 216
    close = {code for slot, code in SLOT_CODES.items() if slot not in KIND_CODES}
    assert len(close) == len(PAIR_KINDS) * MAX_CLOSE_FORMS
    assert not close & set(KIND_CODES.values())
    assert max(close) < 2**15  # a smallint
    assert all(SLOT_KINDS[SLOT_CODES[slot]] == (kind, True)
               for kind, slots in CLOSE_SLOTS.items() for slot in slots)  # fmt: skip
    assert all(SLOT_KINDS[code] == (kind, False) for kind, code in KIND_CODES.items())
