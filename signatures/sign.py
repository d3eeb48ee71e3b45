"""Canonical messages and HMAC-SHA256-128 signatures."""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Final

from signatures.keys import KEY_BYTES
from signatures.kinds import CLOSE_SLOTS
from signatures.kinds import KINDS
from signatures.kinds import split_slots
from signatures.normalize import NormalizedRecord
from signatures.normalize import normalize_record
from signatures.tolerant import CLOSE_FIELDS
from signatures.tolerant import CLOSE_MARK
from signatures.tolerant import Names
from signatures.tolerant import name_forms

SPEC: Final = "idcheck-v1"
ALGORITHM: Final = "HMAC-SHA256-128"
SIGNATURE_BYTES: Final = 16
_PREFIX: Final = b"idcheck:v1:"
_SEPARATOR: Final = b"\x1f"
# Each kind's message head and fields, so that signing a record encodes each value once.
_HEADS: Final = {kind: (_PREFIX + kind.encode("ascii"), names) for kind, names in KINDS.items()}


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record's signatures (kind -> 32 lowercase hex), its close forms' (pair kind -> their
    signatures in slot order, section 8) and the names of its invalid fields."""

    signatures: dict[str, str]
    invalid: list[str]
    #: field -> why it is invalid; may quote the value, so it is for the data's owner only.
    reasons: dict[str, str] = field(default_factory=dict)
    close: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, signed: Mapping[str, str], normalized: NormalizedRecord) -> "SignedRecord":
        """From signatures by slot (``sign_fields``) and the record they were made from."""
        signatures, close = split_slots(signed)
        return cls(signatures, normalized.invalid, normalized.reasons, close)

    def upload(self) -> dict[str, object]:
        """The signatures as a record of the upload or signed verify format carries them."""
        return {"signatures": self.signatures, **({"close": self.close} if self.close else {})}


def canonical_message(kind: str, fields: Mapping[str, str]) -> bytes:
    """``idcheck:v1:<kind>`` then, per field of the kind in order, 0x1F and the value in UTF-8."""
    return _message(kind, {name: fields[name].encode("utf-8") for name in KINDS[kind]})


def _message(kind: str, encoded: Mapping[str, bytes]) -> bytes:
    """The canonical message of ``kind`` from the values already in UTF-8."""
    head, names = _HEADS[kind]
    return _SEPARATOR.join([head, *[encoded[name] for name in names]])


def close_messages(fields: Mapping[str, str], names: Names) -> dict[str, bytes]:
    """slot -> the canonical message of each close form of each pair kind (spec section 8):
    ``idcheck:v1:<kind>~close``, 0x1F, the form's tag, then per field of CLOSE_FIELDS[kind] 0x1F
    and the form's value (the names as the form writes them, the other fields as they are)."""
    last_words, given_words = names.get("last_name"), names.get("first_name")
    if not last_words or not given_words:
        return {}
    forms = name_forms(last_words, given_words)
    encoded = [
        (tag.encode("ascii"), last.encode("utf-8"), first.encode("utf-8"))
        for tag, last, first in forms
    ]
    messages: dict[str, bytes] = {}
    for kind, signed in CLOSE_FIELDS.items():
        if any(name not in fields for name in signed):
            continue
        head = _PREFIX + kind.encode("ascii") + CLOSE_MARK.encode("ascii")
        others = {name: fields[name].encode("utf-8") for name in signed}
        for slot, (tag, last, first) in zip(CLOSE_SLOTS[kind], encoded, strict=False):
            names_of_form = {**others, "last_name": last, "first_name": first}
            parts = [head, tag, *(names_of_form[name] for name in signed)]
            messages[slot] = _SEPARATOR.join(parts)
    return messages


def record_messages(fields: Mapping[str, str], names: Names | None = None) -> dict[str, bytes]:
    """slot -> canonical message: every signable kind's, then (given the names' words) every
    close form's."""
    encoded = {name: value.encode("utf-8") for name, value in fields.items()}
    messages = {kind: _message(kind, encoded) for kind in signable_kinds(encoded)}
    if names:
        messages.update(close_messages(fields, names))
    return messages


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a signing key is {KEY_BYTES} bytes")


def sign_fields(
    fields: Mapping[str, str], key: bytes, names: Names | None = None
) -> dict[str, str]:
    """Sign every kind whose fields are all present in ``fields`` (already normalised) and, given
    the names' words, every close form: slot -> the HMAC of its canonical message."""
    keyed = _keyed(key)
    signatures: dict[str, str] = {}
    for slot, message in record_messages(fields, names).items():
        mac = keyed.copy()
        mac.update(message)
        signatures[slot] = mac.digest()[:SIGNATURE_BYTES].hex()
    return signatures


def signable_kinds(fields: Mapping[str, object]) -> tuple[str, ...]:
    """The kinds whose fields are all present, in the spec's order."""
    return _signable(frozenset(fields))


@lru_cache(maxsize=256)  # one entry per set of fields present: at most 2^8
def _signable(present: frozenset[str]) -> tuple[str, ...]:
    return tuple(kind for kind, names in KINDS.items() if present.issuperset(names))


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 with ``key`` before any message: copied for each message, so that the key's
    pads are hashed once per key, not once per signature."""
    _check_key(key)
    return hmac.new(key, digestmod="sha256")


def sign_record(
    record: Mapping[str, str | None], key: bytes, *, default_country: str = "FR"
) -> SignedRecord:
    """Normalise ``record`` and sign every kind its valid fields allow."""
    normalized = normalize_record(record, default_country=default_country)
    return SignedRecord.of(sign_fields(normalized.fields, key, normalized.names), normalized)
