"""idcheck signature spec v1: normalisation, canonical messages, signatures, key derivation.

Pure code, no I/O: the part a data holder runs on its own machine, the buyer SDK's core, and
what the server uses to sign raw records in memory. One implementation, no drift.
"""

from signatures.blind import Scheme
from signatures.blind import blind_fields
from signatures.blind import derive_oprf_secret
from signatures.blind import finish_fields
from signatures.blind import finish_records
from signatures.blind import oprf_sign_fields
from signatures.errors import InvalidValue
from signatures.keys import KEY_BYTES
from signatures.keys import derive_key
from signatures.keys import derive_pepper
from signatures.keys import derive_signing_key
from signatures.kinds import CLOSE_SLOTS
from signatures.kinds import CONTACT_KINDS
from signatures.kinds import FIELDS
from signatures.kinds import KIND_CODES
from signatures.kinds import KIND_NAMES
from signatures.kinds import KINDS
from signatures.kinds import MAX_CLOSE_FORMS
from signatures.kinds import PAIR_KINDS
from signatures.kinds import SLOT_CODES
from signatures.kinds import SLOT_KINDS
from signatures.kinds import FieldName
from signatures.kinds import Kind
from signatures.normalize import NormalizedRecord
from signatures.normalize import check_default_country
from signatures.normalize import check_field
from signatures.normalize import normalize_field
from signatures.normalize import normalize_record
from signatures.sign import ALGORITHM
from signatures.sign import SIGNATURE_BYTES
from signatures.sign import SPEC
from signatures.sign import SignedRecord
from signatures.sign import canonical_message
from signatures.sign import close_messages
from signatures.sign import record_messages
from signatures.sign import sign_fields
from signatures.sign import sign_record
from signatures.tolerant import Names

__all__ = [
    "ALGORITHM",
    "CLOSE_SLOTS",
    "CONTACT_KINDS",
    "FIELDS",
    "KEY_BYTES",
    "KINDS",
    "KIND_CODES",
    "KIND_NAMES",
    "MAX_CLOSE_FORMS",
    "PAIR_KINDS",
    "SIGNATURE_BYTES",
    "SLOT_CODES",
    "SLOT_KINDS",
    "SPEC",
    "FieldName",
    "InvalidValue",
    "Kind",
    "Names",
    "NormalizedRecord",
    "Scheme",
    "SignedRecord",
    "blind_fields",
    "canonical_message",
    "check_default_country",
    "check_field",
    "close_messages",
    "derive_key",
    "derive_oprf_secret",
    "derive_pepper",
    "derive_signing_key",
    "finish_fields",
    "finish_records",
    "normalize_field",
    "normalize_record",
    "oprf_sign_fields",
    "record_messages",
    "sign_fields",
    "sign_record",
]
