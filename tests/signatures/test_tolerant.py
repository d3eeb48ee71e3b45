"""Close forms of names (spec section 8): the rules, the bounds, and what they catch."""

import secrets

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from signatures import CLOSE_SLOTS
from signatures import MAX_CLOSE_FORMS
from signatures import normalize_record
from signatures import sign_fields
from signatures import sign_record
from signatures.tolerant import deletions
from signatures.tolerant import last_name_forms
from signatures.tolerant import phonetic_key

KEY = secrets.token_bytes(32)
PERSON = {"email": "jean.dupont@orange.fr", "phone": "06 12 34 56 78", "street": "12 rue Haute",
          "postcode": "75016", "country": "FR", "birth_date": "1975-07-14"}  # fmt: skip


def _level(holder: tuple[str, str], buyer: tuple[str, str], kind: str) -> str:
    sides = [
        sign_record({**PERSON, "first_name": first, "last_name": last}, KEY)
        for first, last in (holder, buyer)
    ]
    if sides[0].signatures[kind] == sides[1].signatures[kind]:
        return "exact"
    held, asked = (set(side.close.get(kind, ())) for side in sides)
    return "close" if held & asked else "none"


def _normalized(record: dict[str, str]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    normalized = normalize_record(record)
    return normalized.fields, normalized.names


def test_the_phonetic_key_follows_the_spec_examples() -> None:
    assert phonetic_key("gauthier") == "gotier"
    assert phonetic_key("dupont") == phonetic_key("dupond") == "dupon"
    assert phonetic_key("philippe") == "filip"
    assert phonetic_key("arnault") == phonetic_key("arnaud") == "arno"
    assert phonetic_key("lemoyne") == phonetic_key("lemoine")


def test_deletions_cover_short_and_long_names_only_within_bounds() -> None:
    assert deletions("roy") == []
    assert deletions("abcd") == ["abcd", "bcd", "acd", "abd", "abc"]
    assert deletions("a" * 17) == []
    assert last_name_forms(("de", "la", "fontaine"))[-1] == "fontaine"
    assert "brun" in last_name_forms(("brun", "lebon"))
    assert "lebon" in last_name_forms(("brun", "lebon"))


def test_each_way_of_writing_a_name_is_close_and_another_person_is_not() -> None:
    for kind in ("email_name", "phone_name", "name_address", "name_birth_date"):
        assert _level(("Jean", "Dupont"), ("jean", "DUPONT"), kind) == "exact"
        assert _level(("Jean", "Dupont"), ("Jean", "Dupond"), kind) == "close"  # one edit
        assert _level(("Jean", "Gauthier"), ("Jean", "Gothier"), kind) == "close"  # phonetic
        assert _level(("Jean", "de La Fontaine"), ("Jean", "Fontaine"), kind) == "close"
        assert _level(("Jean", "Martin-Dupont"), ("Jean", "Dupont"), kind) == "close"
        assert _level(("Jean", "Dupont"), ("Dupont", "Jean"), kind) == "close"  # swapped
        assert _level(("Jean", "Dupont"), ("Paul", "Dupond"), kind) == "none"
        assert _level(("Jean", "Dupont"), ("Jean", "Durand"), kind) == "none"
    assert _level(("Jean-Pierre", "Dupont"), ("Jean", "Dupont"), "name_address") == "close"
    assert _level(("Jean-Pierre", "Dupont"), ("Jean", "Dupont"), "email_name") == "exact"


def test_without_a_given_name_a_pair_kind_has_no_close_forms() -> None:
    signed = sign_record({**PERSON, "last_name": "Dupont"}, KEY)
    assert "email_name" in signed.signatures
    assert signed.close == {}


@settings(max_examples=200)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzé -'", min_size=1, max_size=60),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz -", min_size=1, max_size=60),
)
def test_close_forms_are_bounded_unique_and_never_a_kind_s_own(last: str, first: str) -> None:
    record = {**PERSON, "first_name": first, "last_name": last}
    signed = sign_fields(_normalized(record)[0], KEY, _normalized(record)[1])
    normalized = normalize_record(record)
    for kind, slots in CLOSE_SLOTS.items():
        forms = [signed[slot] for slot in slots if slot in signed]
        assert len(forms) <= MAX_CLOSE_FORMS
        assert len(set(forms)) == len(forms)
        assert signed.get(kind) not in forms
        # Slots are filled from the first, with no gap.
        assert [slot for slot in slots if slot in signed] == list(slots[: len(forms)])
        if "last_name" in normalized.fields and "first_name" in normalized.fields:
            assert forms, kind
