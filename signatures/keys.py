"""Key derivation: the signing keys handed to holders and buyers, and the server's peppers."""

from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES: Final = 32
MIN_MASTER_BYTES: Final = 32


def derive_key(master: bytes, info: str) -> bytes:
    """HKDF-SHA256(master, salt none, info) to KEY_BYTES: every key the service holds comes from
    its master secret this way, each under an info string of its own."""
    if len(master) < MIN_MASTER_BYTES:
        raise ValueError(f"the master secret must hold at least {MIN_MASTER_BYTES} bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info.encode("ascii"))
    return hkdf.derive(master)


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError("a key version is an integer >= 1")
    return version


def derive_signing_key(master: bytes, version: int) -> bytes:
    """Signing key v{version} = HKDF-SHA256(master, salt none, info "idcheck signing v{n}")."""
    return derive_key(master, f"idcheck signing v{check_version(version)}")


def derive_pepper(master: bytes, version: int) -> bytes:
    """Pepper v{version} = HKDF-SHA256(master, salt none, info "idcheck pepper v{n}")."""
    return derive_key(master, f"idcheck pepper v{check_version(version)}")
