"""Canonical messages and HMAC-SHA256-128 signatures."""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Final

from signatures.keys import KEY_BYTES
from signatures.kinds import KINDS
from signatures.normalize import normalize_record

SPEC: Final = "idcheck-v1"
ALGORITHM: Final = "HMAC-SHA256-128"
SIGNATURE_BYTES: Final = 16
_PREFIX: Final = b"idcheck:v1:"
_SEPARATOR: Final = b"\x1f"


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record's signatures (kind -> 32 lowercase hex) and the names of its invalid fields."""

    signatures: dict[str, str]
    invalid: list[str]
    #: field -> why it is invalid; may quote the value, so it is for the data's owner only.
    reasons: dict[str, str] = field(default_factory=dict)


def canonical_message(kind: str, fields: Mapping[str, str]) -> bytes:
    """``idcheck:v1:<kind>`` then, per field of the kind in order, 0x1F and the value in UTF-8."""
    parts = [_PREFIX + kind.encode("ascii")]
    for name in KINDS[kind]:
        parts.append(_SEPARATOR + fields[name].encode("utf-8"))
    return b"".join(parts)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a signing key is {KEY_BYTES} bytes")


def sign_fields(fields: Mapping[str, str], key: bytes) -> dict[str, str]:
    """Sign every kind whose fields are all present in ``fields`` (already normalised)."""
    _check_key(key)
    return {
        kind: hmac.digest(key, canonical_message(kind, fields), hashlib.sha256)[
            :SIGNATURE_BYTES
        ].hex()
        for kind, needed in KINDS.items()
        if all(name in fields for name in needed)
    }


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
