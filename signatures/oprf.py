"""RFC 9497 OPRF, mode modeOPRF (0x00), suite ristretto255-SHA512: the client's Blind and Finalize,
the server's BlindEvaluate, its direct Evaluate, and DeriveKeyPair.

Pure code, no I/O. The group operations come from libsodium (through rbcl, which ships it in its
wheel); what is written here is the protocol around them: RFC 9380's expand_message_xmd with
SHA-512, the domain separation tags, the byte layouts. Scalars are 32 bytes little-endian, elements
32-byte canonical ristretto255 encodings (RFC 9496), as RFC 9497 serialises them.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import rbcl

MODE: Final = 0x00
SUITE: Final = "ristretto255-SHA512"
#: contextString of RFC 9497, section 3.1: "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier.
CONTEXT: Final = b"OPRFV1-" + bytes([MODE]) + b"-" + SUITE.encode("ascii")
ELEMENT_BYTES: Final = 32
SCALAR_BYTES: Final = 32
OUTPUT_BYTES: Final = 64
_IDENTITY: Final = bytes(ELEMENT_BYTES)


class InvalidElement(ValueError):
    """Not a canonical ristretto255 encoding of an element other than the identity."""


def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def expand_message_xmd(message: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380, section 5.3.1, with SHA-512 (b_in_bytes 64, s_in_bytes 128)."""
    blocks = -(-length // 64)
    if blocks > 255 or length > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: length or DST too long")
    dst_prime = dst + _i2osp(len(dst), 1)
    b_0 = hashlib.sha512(bytes(128) + message + _i2osp(length, 2) + b"\x00" + dst_prime).digest()
    b_i = hashlib.sha512(b_0 + b"\x01" + dst_prime).digest()
    uniform = b_i
    for i in range(2, blocks + 1):
        mixed = bytes(x ^ y for x, y in zip(b_0, b_i, strict=True))
        b_i = hashlib.sha512(mixed + _i2osp(i, 1) + dst_prime).digest()
        uniform += b_i
    return uniform[:length]


def hash_to_group(data: bytes) -> bytes:
    """HashToGroup: RFC 9380's hash_to_ristretto255 (expand to 64 bytes, then the one-way map)."""
    uniform = expand_message_xmd(data, b"HashToGroup-" + CONTEXT, 64)
    element: bytes = rbcl.crypto_core_ristretto255_from_hash(uniform)
    return element


def hash_to_scalar(data: bytes, dst: bytes | None = None) -> bytes:
    """HashToScalar: 64 uniform bytes reduced modulo the group order."""
    uniform = expand_message_xmd(data, dst or b"HashToScalar-" + CONTEXT, 64)
    scalar: bytes = rbcl.crypto_core_ristretto255_scalar_reduce(uniform)
    return scalar


def derive_key_pair(seed: bytes, info: bytes) -> bytes:
    """DeriveKeyPair (RFC 9497, section 3.2.1): the private key skS; the public key is not used
    in modeOPRF."""
    derive_input = seed + _i2osp(len(info), 2) + info
    for counter in range(256):
        secret = hash_to_scalar(derive_input + _i2osp(counter, 1), b"DeriveKeyPair" + CONTEXT)
        if secret != bytes(SCALAR_BYTES):
            return secret
    raise ValueError("DeriveKeyPairError")  # probability about 2^-2000


def _multiply(scalar: bytes, element: bytes) -> bytes:
    """scalar * element. libsodium refuses (and this raises InvalidElement) an element that is
    not a canonical encoding, and a product that is the identity: with a non-zero scalar in this
    group of prime order, exactly an identity element. So the multiplication is the check too."""
    if len(element) != ELEMENT_BYTES:
        raise InvalidElement("not a canonical ristretto255 element other than the identity")
    try:
        product: bytes = rbcl.crypto_scalarmult_ristretto255(scalar, element)
    except RuntimeError:
        raise InvalidElement(
            "not a canonical ristretto255 element other than the identity"
        ) from None
    return product


@dataclass(frozen=True)
class Blinded:
    """The client's secret blind, and the blinded element it sends."""

    blind: bytes
    element: bytes


def blind(data: bytes, blind_scalar: bytes | None = None) -> Blinded:
    """Blind: r * HashToGroup(input), r random (or given, for test vectors only)."""
    scalar = (
        blind_scalar if blind_scalar is not None else rbcl.crypto_core_ristretto255_scalar_random()
    )
    point = hash_to_group(data)
    if point == _IDENTITY:
        raise ValueError("InvalidInputError")
    return Blinded(scalar, _multiply(scalar, point))


def blind_evaluate(secret: bytes, blinded_element: bytes) -> bytes:
    """BlindEvaluate, the server's step: skS * blindedElement (InvalidElement for a
    non-canonical encoding or the identity)."""
    return _multiply(secret, blinded_element)


def _finish(data: bytes, unblinded: bytes) -> bytes:
    """The Finalize hash: I2OSP(len(input), 2) || input || I2OSP(len(N), 2) || N || "Finalize"."""
    hash_input = _i2osp(len(data), 2) + data + _i2osp(len(unblinded), 2) + unblinded + b"Finalize"
    return hashlib.sha512(hash_input).digest()


def finalize(data: bytes, blind_scalar: bytes, evaluated_element: bytes) -> bytes:
    """Finalize, the client's last step: the 64-byte PRF output of ``data``."""
    inverse = rbcl.crypto_core_ristretto255_scalar_invert(blind_scalar)
    return _finish(data, _multiply(inverse, evaluated_element))


def invert_all(scalars: Sequence[bytes]) -> list[bytes]:
    """The inverses of non-zero scalars, with one inversion for all (Montgomery's trick: the
    running products, the inverse of the last, then back through the list, three of libsodium's
    scalar multiplications an item). A blind's inversion costs as much as 45 of them."""
    if not scalars:
        return []
    running = [scalars[0]]
    for scalar in scalars[1:]:
        running.append(rbcl.crypto_core_ristretto255_scalar_mul(running[-1], scalar))
    if running[-1] == bytes(SCALAR_BYTES):  # a zero scalar has no inverse
        raise ValueError("a blind of zero has no inverse")
    inverse: bytes = rbcl.crypto_core_ristretto255_scalar_invert(running[-1])
    inverses = [b""] * len(scalars)
    for index in range(len(scalars) - 1, 0, -1):
        inverses[index] = rbcl.crypto_core_ristretto255_scalar_mul(inverse, running[index - 1])
        inverse = rbcl.crypto_core_ristretto255_scalar_mul(inverse, scalars[index])
    inverses[0] = inverse
    return inverses


def finalize_all(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bytes]:
    """Finalize for many inputs at once, each (input, blind, evaluated element): the same outputs
    as :func:`finalize` one by one, with the blinds inverted together (:func:`invert_all`)."""
    inverses = invert_all([blind_scalar for _, blind_scalar, _ in items])
    return [
        _finish(data, _multiply(inverse, element))
        for (data, _, element), inverse in zip(items, inverses, strict=True)
    ]


def evaluate(secret: bytes, data: bytes) -> bytes:
    """Evaluate (RFC 9497, section 3.3.1): the same output as Blind, BlindEvaluate and Finalize,
    computed by the key holder directly."""
    return _finish(data, _multiply(secret, hash_to_group(data)))
