"""RFC 9497 (OPRF, ristretto255-SHA512, mode 0x00) and RFC 9380 (expand_message_xmd, SHA-512)
published test vectors, and blind evaluation equal to direct evaluation for any input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signatures import oprf

# RFC 9380, appendix K.3: expand_message_xmd(SHA-512), DST "QUUX-V01-CS02-with-expander-SHA512-256".
XMD_DST = b"QUUX-V01-CS02-with-expander-SHA512-256"
XMD = [
    (b"abcdef0123456789", 0x20, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"),
    (
        b"abc",
        0x80,
        "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0"
        "cef4bb45217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c041975"
        "1c065922b488431851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1",
    ),
]

# RFC 9497, appendix A.1.1 (OPRF(ristretto255, SHA-512), mode 0x00).
SEED = bytes.fromhex("a3" * 32)
KEY_INFO = b"test key"
SKSM = bytes.fromhex("5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e")
BLIND = bytes.fromhex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706")
VECTORS = [
    (
        "00",
        "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
        "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
        "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3"
        "ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6",
    ),
    (
        "5a" * 17,
        "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
        "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
        "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4"
        "f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73",
    ),
]


@pytest.mark.parametrize(("message", "length", "expected"), XMD)
def test_expand_message_xmd(message: bytes, length: int, expected: str) -> None:
    assert oprf.expand_message_xmd(message, XMD_DST, length).hex() == expected


def test_the_context_string() -> None:
    assert oprf.CONTEXT == b"OPRFV1-\x00-ristretto255-SHA512"


def test_derive_key_pair() -> None:
    assert oprf.derive_key_pair(SEED, KEY_INFO) == SKSM


@pytest.mark.parametrize(("data", "blinded", "evaluated", "output"), VECTORS)
def test_the_rfc_9497_vectors(data: str, blinded: str, evaluated: str, output: str) -> None:
    made = oprf.blind(bytes.fromhex(data), BLIND)
    assert made.element.hex() == blinded
    answer = oprf.blind_evaluate(SKSM, made.element)
    assert answer.hex() == evaluated
    assert oprf.finalize(bytes.fromhex(data), BLIND, answer).hex() == output
    assert oprf.evaluate(SKSM, bytes.fromhex(data)).hex() == output


@given(data=st.binary(max_size=300), seed=st.binary(min_size=32, max_size=32))
def test_blind_evaluation_equals_direct_evaluation(data: bytes, seed: bytes) -> None:
    secret = oprf.derive_key_pair(seed, b"idcheck test")
    made = oprf.blind(data)  # a fresh random blind each time
    output = oprf.finalize(data, made.blind, oprf.blind_evaluate(secret, made.element))
    assert output == oprf.evaluate(secret, data)
    assert len(output) == oprf.OUTPUT_BYTES


def test_the_rfc_9497_vectors_finalized_together() -> None:
    """finalize_all (the blinds inverted together) gives each vector's output, in order."""
    items = [
        (bytes.fromhex(data), BLIND, bytes.fromhex(evaluated)) for data, _, evaluated, _ in VECTORS
    ]
    assert [output.hex() for output in oprf.finalize_all(items)] == [v[3] for v in VECTORS]


@given(
    inputs=st.lists(st.binary(max_size=100), max_size=12),
    seed=st.binary(min_size=32, max_size=32),
)
def test_finalized_together_equals_one_by_one(inputs: list[bytes], seed: bytes) -> None:
    secret = oprf.derive_key_pair(seed, b"idcheck test")
    made = [oprf.blind(data) for data in inputs]  # a fresh random blind each
    items = [
        (data, one.blind, oprf.blind_evaluate(secret, one.element))
        for data, one in zip(inputs, made, strict=True)
    ]
    together = oprf.finalize_all(items)
    assert together == [oprf.finalize(*item) for item in items]
    assert together == [oprf.evaluate(secret, data) for data in inputs]


def test_inverting_all_refuses_a_zero_blind() -> None:
    one = (1).to_bytes(32, "little")
    assert oprf.invert_all([one, one]) == [one, one]
    with pytest.raises(ValueError, match="zero"):
        oprf.invert_all([one, bytes(32), one])


@pytest.mark.parametrize(
    "element",
    [
        bytes(32),  # the identity
        b"\xff" * 32,  # not a canonical encoding
        bytes.fromhex("609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c")[:31],
        bytes.fromhex("609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c") + b"\0",
        b"\x01" + bytes(31),  # a field element that encodes no point
    ],
)
def test_a_bad_element_is_refused(element: bytes) -> None:
    with pytest.raises(oprf.InvalidElement):
        oprf.blind_evaluate(SKSM, element)
