"""Properties of normalisation and signing, over arbitrary text (hypothesis)."""

import string

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from signatures import FIELDS
from signatures import KINDS
from signatures import MAX_CLOSE_FORMS
from signatures import normalize_field
from signatures import normalize_record
from signatures import sign_record
from signatures.address import STREET_WORDS
from signatures.tolerant import CLOSE_FIELDS

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

# Arbitrary text, and text that looks like the field so that normalisation gets past its checks.
_ascii = st.text(alphabet=string.ascii_letters + string.digits + " .-+@'/", max_size=40)
_plausible = {
    "email": st.builds(
        "{}@{}.{}".format,
        st.text(alphabet=string.ascii_letters + ".+_-", min_size=1, max_size=15),
        st.text(alphabet=string.ascii_lowercase + "äöé-", min_size=1, max_size=12),
        st.sampled_from(["fr", "com", "de", "gmail.com"]),
    ),
    "phone": st.from_regex(r"\A(\+33|0|0033)[1-9]( ?[0-9]{2}){4}\Z"),
    "postcode": st.from_regex(r"\A[0-9A-Za-z -]{1,10}\Z"),
    "birth_date": st.from_regex(r"\A[0-9]{1,2}[/.-][0-9]{1,2}[/.-](19|20)[0-9]{2}\Z"),
    "country": st.sampled_from(["fr", "France", "Royaume-Uni", "DEU", "Belgique", "Espagne"]),
    # Abbreviations cut and glued by punctuation: "S:T", "r.-pl", "12 bis av."
    "street": st.lists(
        st.one_of(
            st.sampled_from([*STREET_WORDS, *STREET_WORDS.values(), "12", "bis", "é", "ß"]),
            st.sampled_from([w for w in STREET_WORDS if len(w) > 1]).map(
                lambda w: f"{w[0]}.{w[1:]}"
            ),
        ),
        min_size=1,
        max_size=4,
    ).flatmap(
        lambda words: st.sampled_from([" ", ".", ":", "-", ""]).map(lambda sep: sep.join(words))
    ),
}


def _values(field: str) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=60), _ascii, _plausible.get(field, _ascii))


_field_and_value = st.sampled_from(FIELDS).flatmap(lambda f: st.tuples(st.just(f), _values(f)))
_countries = st.one_of(st.none(), st.sampled_from(["FR", "GB", "Belgique", "zz"]), st.text())


@settings(max_examples=400)
@given(_field_and_value, _countries)
def test_normalisation_never_raises_and_is_idempotent(
    field_and_value: tuple[str, str], country: str | None
) -> None:
    field, value = field_and_value
    once = normalize_field(field, value, country=country)
    if once is not None:
        assert once == normalize_field(field, once, country=country)
        assert "\x1f" not in once  # the canonical message's separator never occurs in a value


_records = st.fixed_dictionaries({}, optional={f: _values(f) for f in FIELDS})


@settings(max_examples=200)
@given(_records)
def test_signing_is_deterministic_and_keyed(record: dict[str, str]) -> None:
    first = sign_record(record, KEY)
    assert first == sign_record(dict(reversed(record.items())), KEY)
    other = sign_record(record, OTHER_KEY)
    assert set(other.signatures) == set(first.signatures)
    for kind, signature in first.signatures.items():
        assert len(signature) == 32
        assert signature == signature.lower()
        assert other.signatures[kind] != signature
    normalized = normalize_record(record)
    own, close = first.signatures, first.close
    assert set(own) == {
        kind for kind, needed in KINDS.items() if set(needed) <= set(normalized.fields)
    }
    assert set(close) == {
        kind for kind, needed in CLOSE_FIELDS.items() if set(needed) <= set(normalized.fields)
    }
    assert all(1 <= len(forms) <= MAX_CLOSE_FORMS for forms in close.values())


@settings(max_examples=300)
@given(_plausible["street"])
def test_street_abbreviations_glued_by_punctuation_stay_stable(street: str) -> None:
    once = normalize_field("street", street)
    assert once is None or normalize_field("street", once) == once
