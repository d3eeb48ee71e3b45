"""Blind mode: the OPRF scheme of a key version (RFC 9497, modeOPRF, ristretto255-SHA512).

The OPRF input of a kind is its spec v1 canonical message; the signature is the first 16 bytes of
the 64-byte output, as hex, so everything downstream of a signature is the same in both schemes.
The client blinds and finalises (:func:`blind_fields`, :func:`finish_fields`); only the server,
which holds the key, evaluates (:func:`oprf_sign_fields` directly, :func:`oprf.blind_evaluate`
for a client's blinded element).
"""

from collections.abc import Mapping
from collections.abc import Sequence
from enum import StrEnum

from signatures import oprf
from signatures.keys import check_version
from signatures.keys import derive_key
from signatures.sign import SIGNATURE_BYTES
from signatures.sign import canonical_message
from signatures.sign import signable_kinds


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


def oprf_sign_fields(fields: Mapping[str, str], secret: bytes) -> dict[str, str]:
    """The server's direct evaluation: what a client would get blind, for every signable kind."""
    return {
        kind: signature_of(oprf.evaluate(secret, canonical_message(kind, fields)))
        for kind in signable_kinds(fields)
    }


def blind_fields(fields: Mapping[str, str]) -> list[tuple[str, oprf.Blinded]]:
    """(kind, blinded message) for every signable kind; the blinds stay with the client."""
    return [(kind, oprf.blind(canonical_message(kind, fields))) for kind in signable_kinds(fields)]


def finish_fields(
    fields: Mapping[str, str],
    blinded: Sequence[tuple[str, oprf.Blinded]],
    evaluated: Sequence[bytes],
) -> dict[str, str]:
    """Unblind the server's evaluations (same order as ``blinded``) into signatures."""
    if len(blinded) != len(evaluated):
        raise ValueError("one evaluated element per blinded element")
    return {
        kind: signature_of(oprf.finalize(canonical_message(kind, fields), item.blind, element))
        for (kind, item), element in zip(blinded, evaluated, strict=True)
    }
