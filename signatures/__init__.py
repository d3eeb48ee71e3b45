"""idcheck signature spec v1: normalisation, canonical messages, signatures, key derivation.

Pure code, no I/O: the part a data holder runs on its own machine, the buyer SDK's core, and
what the server uses to sign raw records in memory. One implementation, no drift.
"""

from signatures.errors import InvalidValue
from signatures.keys import KEY_BYTES, derive_key, derive_pepper, derive_signing_key
from signatures.kinds import (
    CONTACT_KINDS,
    FIELDS,
    KIND_CODES,
    KIND_NAMES,
    KINDS,
    PAIR_KINDS,
    FieldName,
    Kind,
)
from signatures.normalize import (
    NormalizedRecord,
    check_default_country,
    check_field,
    normalize_field,
    normalize_record,
)
from signatures.sign import (
    ALGORITHM,
    SIGNATURE_BYTES,
    SPEC,
    SignedRecord,
    canonical_message,
    sign_fields,
    sign_record,
)

__all__ = [
    "ALGORITHM",
    "CONTACT_KINDS",
    "FIELDS",
    "KEY_BYTES",
    "KINDS",
    "KIND_CODES",
    "KIND_NAMES",
    "PAIR_KINDS",
    "SIGNATURE_BYTES",
    "SPEC",
    "FieldName",
    "InvalidValue",
    "Kind",
    "NormalizedRecord",
    "SignedRecord",
    "canonical_message",
    "check_default_country",
    "check_field",
    "derive_key",
    "derive_pepper",
    "derive_signing_key",
    "normalize_field",
    "normalize_record",
    "sign_fields",
    "sign_record",
]
