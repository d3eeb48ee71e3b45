"""Blind mode: the OPRF scheme of a key version (RFC 9497, modeOPRF, ristretto255-SHA512).

The OPRF input of a kind is its spec v1 canonical message; the signature is the first 16 bytes of
the 64-byte output, as hex, so everything downstream of a signature is the same in both schemes.
The client blinds and finalises (:func:`blind_fields`, :func:`finish_fields`; for several records
at once :func:`finish_records`); only the server, which holds the key, evaluates
(:func:`oprf_sign_fields` directly, :func:`oprf.blind_evaluate` for a client's blinded element).
"""

from collections.abc import Mapping
from collections.abc import Sequence
from enum import StrEnum

from signatures import oprf
from signatures.keys import check_version
from signatures.keys import derive_key
from signatures.sign import SIGNATURE_BYTES
from signatures.sign import record_messages
from signatures.tolerant import Names


class Scheme(StrEnum):
    """How the signatures of a key version are made."""

    HMAC = "hmac-sha256"  # spec v1: HMAC-SHA256-128 with a key handed to clients
    OPRF = "oprf-ristretto255-sha512"  # blind mode: no client holds a key


def derive_oprf_secret(master: bytes, version: int) -> bytes:
    """The server's OPRF private key of v{version}: DeriveKeyPair(seed, info) with seed =
    HKDF-SHA256(master, info "idcheck oprf seed v{n}") and info = "idcheck oprf v{n}"."""
    check_version(version)
    seed = derive_key(master, f"idcheck oprf seed v{version}")
    return oprf.derive_key_pair(seed, f"idcheck oprf v{version}".encode("ascii"))


def signature_of(output: bytes) -> str:
    """The signature of an OPRF output: its first 16 bytes, lower-case hex."""
    return output[:SIGNATURE_BYTES].hex()


def oprf_sign_fields(
    fields: Mapping[str, str], secret: bytes, names: Names | None = None
) -> dict[str, str]:
    """The server's direct evaluation: what a client would get blind, for every slot."""
    return {
        slot: signature_of(oprf.evaluate(secret, message))
        for slot, message in record_messages(fields, names).items()
    }


def blind_fields(
    fields: Mapping[str, str], names: Names | None = None
) -> list[tuple[str, bytes, oprf.Blinded]]:
    """(slot, message, blinded message) for every slot; the blinds stay with the client."""
    return [
        (slot, message, oprf.blind(message))
        for slot, message in record_messages(fields, names).items()
    ]


def finish_fields(
    blinded: Sequence[tuple[str, bytes, oprf.Blinded]], evaluated: Sequence[bytes]
) -> dict[str, str]:
    """Unblind the server's evaluations (same order as ``blinded``) into signatures."""
    return finish_records([blinded], evaluated)[0]


def finish_records(
    blinded: Sequence[Sequence[tuple[str, bytes, oprf.Blinded]]], evaluated: Sequence[bytes]
) -> list[dict[str, str]]:
    """Unblind the evaluations of several records' blinded messages (``evaluated`` in the order
    of ``blinded``, record after record) into each record's signatures, with one inversion of
    the blinds for all (oprf.finalize_all)."""
    flat = [item for record in blinded for item in record]
    if len(flat) != len(evaluated):
        raise ValueError("one evaluated element per blinded element")
    items = [
        (message, item.blind, element)
        for (_, message, item), element in zip(flat, evaluated, strict=True)
    ]
    outputs = iter(oprf.finalize_all(items))
    return [{slot: signature_of(next(outputs)) for slot, _, _ in record} for record in blinded]
