"""The kinds of signature of spec v1: which normalised fields are signed together.

Each kind has a storage code, frozen: the server stores the code, not the name, in every signature
row. A new kind takes the next unused code, wherever it is listed; a code is never changed or
reused (tests/signatures/test_kinds.py holds them)."""

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Final
from typing import Literal
from typing import get_args

#: A field a record can carry.
FieldName = Literal[
    "email", "phone", "first_name", "last_name", "street", "postcode", "country", "birth_date"
]
#: Every field, in the order the spec lists them.
FIELDS: Final[tuple[str, ...]] = get_args(FieldName)

#: A kind of signature.
Kind = Literal["email", "phone", "email_name", "phone_name", "name_address", "name_birth_date"]

#: kind -> (its frozen storage code, its fields in the order they enter the canonical message).
_KINDS: Final[dict[Kind, tuple[int, tuple[FieldName, ...]]]] = {
    "email": (1, ("email",)),
    "phone": (2, ("phone",)),
    "email_name": (3, ("email", "last_name")),
    "phone_name": (4, ("phone", "last_name")),
    "name_address": (5, ("last_name", "first_name", "street", "postcode", "country")),
    "name_birth_date": (6, ("last_name", "first_name", "birth_date")),
}

#: kind -> its fields, in the order they enter the canonical message.
KINDS: Final[dict[str, tuple[str, ...]]] = {kind: fields for kind, (_, fields) in _KINDS.items()}
#: kind -> its storage code, and back.
KIND_CODES: Final[dict[str, int]] = {kind: code for kind, (code, _) in _KINDS.items()}
KIND_NAMES: Final[dict[int, str]] = {code: kind for kind, code in KIND_CODES.items()}

#: Kinds that tie a contact point or an address to a person: a match on one of them verifies.
PairKind = Literal["email_name", "phone_name", "name_address", "name_birth_date"]
PAIR_KINDS: Final[frozenset[str]] = frozenset(get_args(PairKind))

#: Kinds that an opt-out (an email or a phone) suppresses.
CONTACT_KINDS: Final[frozenset[str]] = frozenset({"email", "phone"})

#: Close forms of a pair kind per record, at most (spec section 8).
MAX_CLOSE_FORMS: Final = 24
#: Close forms (the tolerant checks of the pair kinds) travel beside the exact signatures under
#: slot names "<kind>~<n>", n from 1 in the order the spec gives the forms, and are stored under
#: the code 32 × (the kind's code) + n, which is never a kind's code.
CLOSE_SLOTS: Final[dict[str, tuple[str, ...]]] = {
    kind: tuple(f"{kind}~{n}" for n in range(1, MAX_CLOSE_FORMS + 1))
    for kind in KINDS
    if kind in PAIR_KINDS
}
#: Every slot: each kind's own (its name), and its close forms'.
SLOT_CODES: Final[dict[str, int]] = {
    **KIND_CODES,
    **{
        slot: 32 * KIND_CODES[kind] + n
        for kind, slots in CLOSE_SLOTS.items()
        for n, slot in enumerate(slots, start=1)
    },
}
#: storage code -> the kind it checks, and whether it is a close form.
SLOT_KINDS: Final[dict[int, tuple[str, bool]]] = {
    code: (slot.split("~")[0], "~" in slot) for slot, code in SLOT_CODES.items()
}


def slots(
    signatures: Mapping[Kind, str], close: Mapping[PairKind, Sequence[str]]
) -> dict[str, str]:
    """A record's signatures as the signing code gives them: slot -> hex (CLOSE_SLOTS)."""
    found: dict[str, str] = {kind: signature for kind, signature in signatures.items()}
    for kind, forms in close.items():
        found.update(zip(CLOSE_SLOTS[kind], forms, strict=False))
    return found


def split_slots(signed: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The other way: (the kinds' own signatures, the close forms' by pair kind)."""
    signatures: dict[str, str] = {}
    close: dict[str, list[str]] = {}
    for slot, signature in signed.items():
        kind, _, form = slot.partition("~")
        if form:
            close.setdefault(kind, []).append(signature)
        else:
            signatures[slot] = signature
    return signatures, close
