"""Key derivation: HKDF-SHA256 as RFC 5869 writes it, checked against a hand-made HMAC version."""

import hashlib
import hmac

import pytest

from signatures import canonical_message
from signatures import derive_pepper
from signatures import derive_signing_key
from signatures import sign_fields

MASTER = bytes(range(100, 132))


def _rfc5869(master: bytes, info: bytes) -> bytes:
    prk = hmac.new(b"\x00" * 32, master, hashlib.sha256).digest()  # salt none = 32 zero bytes
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()  # one block: L = 32


@pytest.mark.parametrize("version", [1, 2, 17])
def test_keys_follow_rfc5869(version: int) -> None:
    assert derive_signing_key(MASTER, version) == _rfc5869(
        MASTER, f"idcheck signing v{version}".encode()
    )
    assert derive_pepper(MASTER, version) == _rfc5869(MASTER, f"idcheck pepper v{version}".encode())


def test_versions_and_purposes_give_different_keys() -> None:
    keys = {derive_signing_key(MASTER, v) for v in (1, 2)} | {
        derive_pepper(MASTER, v) for v in (1, 2)
    }
    assert len(keys) == 4


@pytest.mark.parametrize("version", [0, -1, True])
def test_bad_versions_are_refused(version: int) -> None:
    with pytest.raises(ValueError, match="version"):
        derive_signing_key(MASTER, version)


def test_short_master_and_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        derive_signing_key(b"short", 1)
    with pytest.raises(ValueError, match="32 bytes"):
        sign_fields({"email": "a@b.fr"}, b"short")


def test_canonical_message_bytes() -> None:
    fields = {"last_name": "정", "first_name": "jean", "birth_date": "1990-01-02"}
    assert canonical_message("name_birth_date", fields) == (
        b"idcheck:v1:name_birth_date\x1f" + "정".encode() + b"\x1fjean\x1f1990-01-02"
    )
