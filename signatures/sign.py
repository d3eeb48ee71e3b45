"""Canonical messages and HMAC-SHA256-128 signatures."""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Final

from signatures.keys import KEY_BYTES
from signatures.kinds import KINDS
from signatures.normalize import normalize_record

SPEC: Final = "idcheck-v1"
ALGORITHM: Final = "HMAC-SHA256-128"
SIGNATURE_BYTES: Final = 16
_PREFIX: Final = b"idcheck:v1:"
_SEPARATOR: Final = b"\x1f"
# Each kind's message head and fields, so that signing a record encodes each value once.
_HEADS: Final = {kind: (_PREFIX + kind.encode("ascii"), names) for kind, names in KINDS.items()}


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record's signatures (kind -> 32 lowercase hex) and the names of its invalid fields."""

    signatures: dict[str, str]
    invalid: list[str]
    #: field -> why it is invalid; may quote the value, so it is for the data's owner only.
    reasons: dict[str, str] = field(default_factory=dict)


def canonical_message(kind: str, fields: Mapping[str, str]) -> bytes:
    """``idcheck:v1:<kind>`` then, per field of the kind in order, 0x1F and the value in UTF-8."""
    return _message(kind, {name: fields[name].encode("utf-8") for name in KINDS[kind]})


def _message(kind: str, encoded: Mapping[str, bytes]) -> bytes:
    """The canonical message of ``kind`` from the values already in UTF-8."""
    head, names = _HEADS[kind]
    return _SEPARATOR.join([head, *[encoded[name] for name in names]])


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a signing key is {KEY_BYTES} bytes")


def sign_fields(fields: Mapping[str, str], key: bytes) -> dict[str, str]:
    """Sign every kind whose fields are all present in ``fields`` (already normalised): the
    HMAC of ``canonical_message``, built here from each value encoded once."""
    keyed = _keyed(key)
    encoded = {name: value.encode("utf-8") for name, value in fields.items()}
    signatures: dict[str, str] = {}
    for kind in signable_kinds(encoded):
        mac = keyed.copy()
        mac.update(_message(kind, encoded))
        signatures[kind] = mac.digest()[:SIGNATURE_BYTES].hex()
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
    return SignedRecord(
        signatures=sign_fields(normalized.fields, key),
        invalid=normalized.invalid,
        reasons=normalized.reasons,
    )
