"""The names corpus (corpus/names.csv) is what its generator makes, and the checks of spec v1
give it the baseline corpus/README.md reports: identical names always match, negatives never."""

import secrets
from collections import Counter

from bench.names import CLASSES
from bench.names import CORPUS
from bench.names import PAIRS_PER_CLASS
from bench.names import evaluate
from bench.names import generate
from bench.names import levels
from bench.names import read
from bench.names import to_csv


def test_the_corpus_is_its_generators_output_byte_for_byte() -> None:
    made = to_csv(generate())
    assert made == CORPUS.read_text(encoding="utf-8"), "run: python -m bench names --write-corpus"
    assert Counter(pair.label for pair in read()) == dict.fromkeys(CLASSES, PAIRS_PER_CLASS)


def test_exact_checks_match_identical_names_and_never_another_person() -> None:
    report = evaluate(read())
    for kind, found in report["identical"].items():
        assert found["exact"] == 1.0, kind
    for kind, found in report["negative"].items():
        assert found["exact"] == 0.0, kind
        assert found["pairs"] >= 290, kind  # nearly every negative is checkable by every kind


def test_a_particle_joined_folds_alike_and_a_dropped_one_does_not() -> None:
    key = secrets.token_bytes(32)
    for pair in read():
        if pair.label == "particle":
            assert set(levels(pair, key).values()) == {pair.variant == "joined"}, pair
