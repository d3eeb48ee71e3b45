"""The server's keys, all derived from the master secret: signing keys, peppers, record keys."""

import os
from dataclasses import dataclass
from dataclasses import field
from typing import Final
from uuid import UUID

import blake3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signatures import SIGNATURE_BYTES
from signatures import Names
from signatures import Scheme
from signatures import derive_key
from signatures import derive_oprf_secret
from signatures import derive_pepper
from signatures import derive_signing_key
from signatures import oprf
from signatures import oprf_sign_fields
from signatures import sign_fields

INDEX_BYTES: Final = 16


@dataclass
class KeyRing:
    """Keys and peppers of the live key versions, each of its scheme; ``current`` is the one
    clients sign with (an HMAC version's key is handed to them, an OPRF version's never)."""

    master: bytes = field(repr=False)
    versions: tuple[int, ...]
    current: int
    #: Versions missing here are HMAC (spec v1).
    schemes: dict[int, Scheme] = field(default_factory=dict)
    _signing: dict[int, bytes] = field(default_factory=dict, repr=False)
    _oprf: dict[int, bytes] = field(default_factory=dict, repr=False)
    _peppers: dict[int, blake3.blake3] = field(default_factory=dict, repr=False)
    _record_key: bytes = field(default=b"", repr=False)
    _api_key_secret: bytes = field(default=b"", repr=False)
    _sealing: AESGCM | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for version in self.versions:
            if self.scheme(version) is Scheme.OPRF:
                self._oprf[version] = derive_oprf_secret(self.master, version)
            else:
                self._signing[version] = derive_signing_key(self.master, version)
            self._peppers[version] = blake3.blake3(key=derive_pepper(self.master, version))
        # Not tied to a key version: a record keeps its key when its holder re-signs it.
        self._record_key = derive_key(self.master, "idcheck record key")
        self._api_key_secret = derive_key(self.master, "idcheck api key hash")
        self._sealing = AESGCM(derive_key(self.master, "idcheck sealed responses"))

    def knows(self, version: int) -> bool:
        return version in self.versions

    def scheme(self, version: int) -> Scheme:
        return self.schemes.get(version, Scheme.HMAC)

    def hmac_versions(self) -> tuple[int, ...]:
        return tuple(version for version in self.versions if version in self._signing)

    def signing_key(self, version: int) -> bytes:
        """An HMAC version's key (KeyError for an OPRF version: its key is never handed out)."""
        return self._signing[version]

    def sign_fields(
        self, version: int, fields: dict[str, str], names: Names | None = None
    ) -> dict[str, str]:
        """Signatures of normalised fields under ``version``, of whichever scheme it is (slot ->
        hex; with the names' words, the close forms too)."""
        if version in self._oprf:
            return oprf_sign_fields(fields, self._oprf[version], names)
        return sign_fields(fields, self._signing[version], names)

    def blind_evaluate(self, version: int, elements: list[bytes]) -> list[bytes | None]:
        """An OPRF version's evaluation of blinded elements; None for each element refused (not
        a canonical encoding, or the identity)."""
        secret = self._oprf[version]
        evaluated: list[bytes | None] = []
        for element in elements:
            try:
                evaluated.append(oprf.blind_evaluate(secret, element))
            except oprf.InvalidElement:
                evaluated.append(None)
        return evaluated

    def index_value(self, version: int, signature: bytes) -> bytes:
        """BLAKE3(key = pepper v{version}, signature)[:16]: the only form a signature is kept in."""
        if len(signature) != SIGNATURE_BYTES:
            raise ValueError("a signature is 16 bytes")
        hasher = self._peppers[version].copy()
        hasher.update(signature)
        return hasher.digest(length=INDEX_BYTES)

    def record_key(self, dataset_id: UUID, external_id: str) -> bytes:
        """Keyed BLAKE3 of the dataset id (16 bytes, fixed length) then the holder's record id."""
        data = dataset_id.bytes + external_id.encode("utf-8")
        return blake3.blake3(data, key=self._record_key).digest(length=INDEX_BYTES)

    def api_key_hash(self, api_key: str) -> bytes:
        """API keys are stored as a keyed BLAKE3 of the key: a stolen table verifies nothing."""
        return blake3.blake3(api_key.encode("ascii"), key=self._api_key_secret).digest()

    def seal(self, data: bytes, context: bytes) -> bytes:
        """AES-256-GCM with a random nonce; ``context`` is bound to it (authenticated, not kept)."""
        assert self._sealing is not None
        nonce = os.urandom(12)
        return nonce + self._sealing.encrypt(nonce, data, context)

    def unseal(self, sealed: bytes, context: bytes) -> bytes:
        assert self._sealing is not None
        return self._sealing.decrypt(sealed[:12], sealed[12:], context)
