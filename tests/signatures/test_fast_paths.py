"""The normalisation fast paths give the libraries' answers, never a different one.

Each value is normalised twice: as the service does it, and inside ``library_only()``, where every
field goes through email-validator, libphonenumber and the whole-text fold. The answers (a normal
form, or the reason a value is invalid) must be equal, for Hypothesis's values, for the values of
the generator that the benchmark and the demo use, and for every five-digit prefix of a French
number (libphonenumber's French patterns are decided within five digits).
"""

import random
import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.cli.people import people
from signatures import FIELDS
from signatures import InvalidValue
from signatures import normalize_record
from signatures.contact import normalize_email
from signatures.contact import normalize_phone
from signatures.fastpath import FAST_PATHS
from signatures.fastpath import library_only
from signatures.text import fold_words
from signatures.text import fold_words_reference
from signatures.text import trim

REGIONS = ["FR", "GP", "RE", "BE", "US", "GB"]


def _answer(function: Callable[..., object], *args: str) -> object:
    try:
        return function(*args)
    except InvalidValue as exc:
        return ("invalid", str(exc))


def assert_same(function: Callable[..., object], *args: str) -> None:
    fast = _answer(function, *args)
    with library_only():
        assert not FAST_PATHS.get()
        reference = _answer(function, *args)
    assert fast == reference, args


_atext = string.ascii_letters + string.digits + ".+_-!#$%&'*/=?^`{|}~"
_local = st.text(alphabet=_atext, max_size=70)
_label = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=0, max_size=70)
_domain = st.one_of(
    st.lists(_label, min_size=1, max_size=5).map(".".join),
    st.sampled_from(
        ["gmail.com", "GoogleMail.com", "orange.fr", "xn--bcher-kva.ch", "localhost", "a.invalid"]
    ),
    st.builds("{}.{}".format, st.text(min_size=1, max_size=10), st.sampled_from(["fr", "com"])),
)
_emails = st.one_of(
    st.emails(),
    st.builds("{}@{}".format, _local, _domain),
    st.builds("{}@{}@{}".format, _local, _local, _domain),
    st.text(max_size=40),
)


@settings(max_examples=1500)
@given(_emails)
def test_email_fast_path_gives_the_library_answer(value: str) -> None:
    assert_same(normalize_email, value)


def test_email_fast_path_at_the_length_limits() -> None:
    for local_length in (63, 64, 65, 200):
        for domain_length in (180, 188, 189, 190, 250, 253, 254):
            labels = ["a" * 60, "b" * 60, "c" * 60, "d" * 60, "e" * 60]
            domain = ".".join(labels)[: domain_length - 3].rstrip(".") + ".fr"
            assert_same(normalize_email, "x" * local_length + "@" + domain)
            assert_same(normalize_email, "X.y" * (local_length // 3) + "@XN--BCHER-KVA." + domain)


_phones = st.one_of(
    st.from_regex(r"\A(\+33|0|0033|\+33 ?\(0\)|\+590|\+)[ .-]?[0-9]([ .-]{0,2}[0-9]){6,10}\Z"),
    st.from_regex(r"\A0[0-9]{9}\Z"),
    st.text(alphabet=string.digits + " .-+()", max_size=20),
    st.text(max_size=20),
)


@settings(max_examples=1500)
@given(_phones, st.sampled_from(REGIONS))
def test_phone_fast_path_gives_the_library_answer(value: str, region: str) -> None:
    assert_same(normalize_phone, value, region)


@pytest.mark.parametrize("first", "123456789")
def test_every_five_digit_prefix_of_a_french_number(first: str) -> None:
    rng = random.Random(first)
    for rest in range(10_000):
        national = f"{first}{rest:04d}{rng.randrange(10_000):04d}"
        assert_same(normalize_phone, "0" + national, "FR")
        if rest % 10 == 0:
            assert_same(normalize_phone, "+33 " + national, rng.choice(REGIONS))


_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["L", "M", "Zs", "Nd", "P"])),
    st.text(alphabet="éèÉßŒæøłı \u00a0\u0301\u0308\u200b-'.1a", max_size=20),
)


@settings(max_examples=1500)
@given(_text, st.booleans())
def test_fold_fast_paths_give_the_rule_words(text: str, keep_digits: bool) -> None:
    assert fold_words(text, keep_digits=keep_digits) == fold_words_reference(
        text, keep_digits=keep_digits
    )
    assert_same(trim, text)


_records = st.fixed_dictionaries(
    {},
    optional={
        "email": _emails,
        "phone": _phones,
        **{name: _text for name in FIELDS if name not in ("email", "phone")},
    },
)


@settings(max_examples=500)
@given(_records, st.sampled_from(["FR", "BE", "GP"]))
def test_records_normalise_the_same_either_way(record: dict[str, str], default: str) -> None:
    assert_same(lambda: normalize_record(record, default_country=default))


def test_the_generators_records_normalise_the_same_either_way() -> None:
    records = list(people(20_000, seed=7, dirty=0.2))
    fast = [normalize_record(record) for record in records]
    with library_only():
        reference = [normalize_record(record) for record in records]
    assert fast == reference
