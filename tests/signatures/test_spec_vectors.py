"""The checked-in vectors (docs/signature-vectors-v1.json and -oprf.json, the spec's tables) hold
for the code."""

import hashlib
import hmac
import json

import pytest

from scripts import make_signature_vectors as vectors
from signatures import KINDS
from signatures import MAX_CLOSE_FORMS
from signatures import blind_fields
from signatures import derive_oprf_secret
from signatures import derive_signing_key
from signatures import finish_fields
from signatures import normalize_record
from signatures import oprf
from signatures import oprf_sign_fields
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
        assert signed.close == {
            kind: [form["signature"] for form in forms] for kind, forms in case["close"].items()
        }
        assert signed.invalid == case["invalid"]
        normalized = normalize_record(case["input"], default_country=data["default_country"])
        assert normalized.fields == case["normalized"]
        assert normalized.names == {name: tuple(words) for name, words in case["names"].items()}


def test_a_third_party_can_rebuild_close_forms_from_the_messages() -> None:
    """Section 8's messages, HMAC'd as section 4 says: the same signatures, and every record with
    a given and a last name and a pair kind's fields has close forms of that kind."""
    data = json.loads(vectors.VECTORS.read_text(encoding="utf-8"))
    key = bytes.fromhex(data["signing_key"])
    shown = 0
    for case in data["records"]:
        for kind, forms in case["close"].items():
            assert 1 <= len(forms) <= MAX_CLOSE_FORMS
            assert kind in case["signatures"]
            for form in forms:
                message = form["message"].replace("␟", "\x1f").encode("utf-8")
                assert message.startswith(f"idcheck:v1:{kind}~close\x1f".encode())
                digest = hmac.new(key, message, hashlib.sha256).digest()[:16].hex()
                assert digest == form["signature"]
                shown += 1
    assert shown >= 50


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


def test_the_checked_in_oprf_vectors_are_what_the_code_gives() -> None:
    expected = vectors.render_json(vectors.build_oprf())
    assert vectors.OPRF_VECTORS.read_text(encoding="utf-8") == expected
    document = vectors.SPEC_DOC.read_text(encoding="utf-8")
    assert vectors.render_oprf_table(vectors.build_oprf()) in document


def test_oprf_vectors_from_the_file() -> None:
    """Each step of blind mode, from the published values: key derivation, Blind, BlindEvaluate,
    Finalize, the signature; and the canonical message is spec v1's."""
    data = json.loads(vectors.OPRF_VECTORS.read_text(encoding="utf-8"))
    secret = derive_oprf_secret(bytes.fromhex(data["master_secret"]), data["key_version"])
    assert secret.hex() == data["private_key"]
    assert data["scheme"] == "oprf-ristretto255-sha512"
    assert {case["kind"] for case in data["cases"]} == set(KINDS)
    for case in data["cases"]:
        message = bytes.fromhex(case["message_hex"])
        assert case["message"].replace("␟", "\x1f").encode("utf-8") == message
        blinded = oprf.blind(message, bytes.fromhex(case["blind"]))
        assert blinded.element.hex() == case["blinded_element"]
        evaluated = oprf.blind_evaluate(secret, blinded.element)
        assert evaluated.hex() == case["evaluated_element"]
        output = oprf.finalize(message, blinded.blind, evaluated)
        assert output.hex() == case["output"]
        assert output[:16].hex() == case["signature"]
        assert oprf.evaluate(secret, message) == output


def test_blind_and_direct_signatures_agree_on_the_spec_records() -> None:
    """What a client gets blind is what the server computes directly (raw verify)."""
    data = json.loads(vectors.VECTORS.read_text(encoding="utf-8"))
    secret = derive_oprf_secret(bytes.fromhex(data["master_secret"]), 2)
    for case in data["records"]:
        fields = case["normalized"]
        names = {name: tuple(words) for name, words in case.get("names", {}).items()}
        blinded = blind_fields(fields, names)
        evaluated = [oprf.blind_evaluate(secret, item.element) for _, _, item in blinded]
        assert finish_fields(blinded, evaluated) == oprf_sign_fields(fields, secret, names)
