"""The checked-in vectors (docs/signature-vectors-v1.json, the spec's table) hold for the code."""

import hashlib
import hmac
import json

import pytest

from scripts import make_signature_vectors as vectors
from signatures import derive_signing_key
from signatures import normalize_record
from signatures import sign_record


def test_the_checked_in_vectors_are_what_the_code_gives() -> None:
    assert vectors.VECTORS.read_text(encoding="utf-8") == vectors.render_json(vectors.build())


def test_the_spec_shows_the_same_vectors() -> None:
    document = vectors.SPEC_DOC.read_text(encoding="utf-8")
    assert vectors.render_table(vectors.build()) in document


def test_vectors_from_the_file() -> None:
    data = json.loads(vectors.VECTORS.read_text(encoding="utf-8"))
    key = derive_signing_key(bytes.fromhex(data["master_secret"]), data["key_version"])
    assert key.hex() == data["signing_key"]
    assert len(data["records"]) >= 12
    assert any(case["invalid"] for case in data["records"])
    assert any(not case["signatures"] for case in data["records"])
    for case in data["records"]:
        signed = sign_record(case["input"], key, default_country=data["default_country"])
        assert signed.signatures == case["signatures"]
        assert signed.invalid == case["invalid"]
        normalized = normalize_record(case["input"], default_country=data["default_country"])
        assert normalized.fields == case["normalized"]


@pytest.mark.parametrize("case", [0, 1, 4])
def test_a_third_party_can_rebuild_the_signature_from_the_message(case: int) -> None:
    """HMAC-SHA256 over the published message, cut to 16 bytes: nothing of ours involved."""
    data = json.loads(vectors.VECTORS.read_text(encoding="utf-8"))
    key = bytes.fromhex(data["signing_key"])
    record = data["records"][case]
    for kind, shown in record["canonical"].items():
        message = shown.replace("␟", "\x1f").encode("utf-8")
        digest = hmac.new(key, message, hashlib.sha256).digest()[:16].hex()
        assert digest == record["signatures"][kind]
