"""The kinds of signature of spec v1: which normalised fields are signed together."""

from typing import Final

#: Every field a record can carry, in the order the spec lists them.
FIELDS: Final[tuple[str, ...]] = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "street",
    "postcode",
    "country",
    "birth_date",
)

#: kind -> its fields, in the order they enter the canonical message.
KINDS: Final[dict[str, tuple[str, ...]]] = {
    "email": ("email",),
    "phone": ("phone",),
    "email_name": ("email", "last_name"),
    "phone_name": ("phone", "last_name"),
    "name_address": ("last_name", "first_name", "street", "postcode", "country"),
    "name_birth_date": ("last_name", "first_name", "birth_date"),
}

#: Kinds that tie a contact point or an address to a person: a match on one of them verifies.
PAIR_KINDS: Final[frozenset[str]] = frozenset(
    {"email_name", "phone_name", "name_address", "name_birth_date"}
)

#: Kinds that an opt-out (an email or a phone) suppresses.
CONTACT_KINDS: Final[frozenset[str]] = frozenset({"email", "phone"})
