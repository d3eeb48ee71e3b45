"""The kinds of signature of spec v1: which normalised fields are signed together.

Each kind has a storage code, frozen: the server stores the code, not the name, in every signature
row. A new kind takes the next unused code, wherever it is listed; a code is never changed or
reused (tests/signatures/test_kinds.py holds them)."""

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
PAIR_KINDS: Final[frozenset[str]] = frozenset(
    {"email_name", "phone_name", "name_address", "name_birth_date"}
)

#: Kinds that an opt-out (an email or a phone) suppresses.
CONTACT_KINDS: Final[frozenset[str]] = frozenset({"email", "phone"})
