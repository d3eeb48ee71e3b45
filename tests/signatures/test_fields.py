"""Field rules of spec v1 beyond the public cases: each line of DESIGN.md's normalisation list."""

from datetime import timedelta

import pytest

from signatures import InvalidValue
from signatures import check_field
from signatures import normalize_field
from signatures import normalize_record
from signatures.dates import today


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\u00a0\tjean@exämple.fr\u200b ", "jean@xn--exmple-cua.fr"),
        ("Jean.Dupont@Orange.FR", "jean.dupont@orange.fr"),
        ("J.E.A.N+news@googlemail.com", "jean@gmail.com"),
        ("jean@localhost", None),
        ("jean dupont@orange.fr", None),
        ("@orange.fr", None),
        ("", None),
        ("   ", None),
    ],
)
def test_email(value: str, expected: str | None) -> None:
    assert normalize_field("email", value) == expected


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("0590 27 88 88", {}, "+590590278888"),  # Guadeloupe, written nationally
        ("0262 12 34 56", {}, "+262262123456"),  # La Réunion
        ("0696 12 34 56", {}, "+596696123456"),  # Martinique
        ("+33 1 42 68 53 00", {"default_country": "US"}, "+33142685300"),
        ("02 12 34 56 78", {"country": "Belgique"}, None),  # read as Belgian: too long
        ("0470 12 34 56", {"country": "BE"}, "+32470123456"),
        ("0470 12 34 56", {"country": "not a country"}, "+33470123456"),  # read as French
        ("abc", {}, None),
        ("0590 27 88 88", {"country": "ES"}, None),  # the overseas rule is French only
    ],
)
def test_phone(value: str, options: dict[str, str], expected: str | None) -> None:
    assert normalize_field("phone", value, **options) == expected


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("last_name", "DUPONT", "dupont"),
        ("last_name", "Strauß", "strauss"),
        ("last_name", "Lætitia Œuvray", "laetitiaoeuvray"),
        ("last_name", "Ødegård Łukasz Đorđe Þór Yıldız", "odegardlukaszdordethoryildiz"),
        ("first_name", "Jean-Pierre", "jeanpierre"),
        ("first_name", "Ｊｅａｎ", "jean"),  # full-width, NFKC
        ("first_name", "123", None),
        ("first_name", "-", None),
    ],
)
def test_names(field: str, value: str, expected: str | None) -> None:
    assert normalize_field(field, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3 bd St-Michel", "3boulevardsaintmichel"),
        ("3, Boulevard Saint Michel", "3boulevardsaintmichel"),
        ("5 r. de la Paix", "5ruedelapaix"),
        ("5 rue de la paix", "5ruedelapaix"),
        ("Imp. des Lilas", "impassedeslilas"),
        ("rte de Ste-Foy", "routedesaintefoy"),
        ("12r de la Paix", "12rdelapaix"),  # "12r" is one word: not an abbreviation
        ("Résidence Les Pins, bât. B", "residencelespinsbatb"),
        ("S:T", "saint"),  # joined into a word of the table: replaced, so the form is stable
        ("---", None),
    ],
)
def test_street(value: str, expected: str | None) -> None:
    assert normalize_field("street", value) == expected


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("75008", {}, "75008"),
        ("1000", {"country": "France"}, "01000"),
        ("750080", {}, None),
        ("75O08", {}, None),
        ("SW1A 1AA", {"default_country": "GB"}, "SW1A1AA"),
        ("1234-567", {"country": "PT"}, "1234567"),
        ("K1A 0B1", {"country": "FR"}, None),
        ("1", {"country": "DE"}, None),
        ("ab#12", {"country": "DE"}, None),
    ],
)
def test_postcode(value: str, options: dict[str, str], expected: str | None) -> None:
    assert normalize_field("postcode", value, **options) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fr", "FR"),
        ("FRA", "FR"),
        ("deu", "DE"),
        ("Allemagne", "DE"),
        ("royaume-uni", "GB"),
        ("ÉTATS-UNIS", "US"),
        ("Etats Unis", "US"),
        ("Bolivie", "BO"),
        ("Bolivia", "BO"),
        ("Côte d'Ivoire", "CI"),
        ("La Réunion", None),
        ("Réunion", "RE"),
        ("Germany", "DE"),
        ("Viet Nam", "VN"),
        ("Corée", None),  # two Koreas: ambiguous, never guessed
        ("XX", None),
        ("Atlantis", None),
    ],
)
def test_country(value: str, expected: str | None) -> None:
    assert normalize_field("country", value) == expected


def test_birth_dates() -> None:
    assert normalize_field("birth_date", "1.2.1980") == "1980-02-01"
    assert normalize_field("birth_date", "1980-2-1") == "1980-02-01"
    assert normalize_field("birth_date", "31/02/1980") is None
    assert normalize_field("birth_date", "1980/02/01") is None
    assert normalize_field("birth_date", "01/02-1980") is None
    assert normalize_field("birth_date", "٠١/٠٢/١٩٨٠") is None  # Arabic-Indic digits
    assert normalize_field("birth_date", today().isoformat()) == today().isoformat()
    tomorrow = (today() + timedelta(days=1)).strftime("%d/%m/%Y")
    assert normalize_field("birth_date", tomorrow) is None


def test_check_field_says_why() -> None:
    with pytest.raises(InvalidValue, match="future"):
        check_field("birth_date", "01/01/2999")
    with pytest.raises(InvalidValue, match="French postcode"):
        check_field("postcode", "123456")
    assert check_field("email", " ") is None


def test_unknown_field_and_bad_default_country_are_programming_errors() -> None:
    with pytest.raises(KeyError):
        normalize_field("city", "Paris")
    with pytest.raises(ValueError, match="default country"):
        normalize_record({"phone": "0612345678"}, default_country="Atlantis")


def test_record_fills_in_the_default_country_for_an_address() -> None:
    record = normalize_record({"street": "1 rue de la Paix", "postcode": "75002"})
    assert record.fields["country"] == "FR"
    assert normalize_record({"last_name": "Dupont"}).fields == {"last_name": "dupont"}


def test_record_reports_invalid_fields_in_spec_order_and_ignores_unknown_keys() -> None:
    record = normalize_record(
        {
            "birth_date": "32/01/1990",
            "email": "nope",
            "city": "Paris",
            "ref": "row-1",
            "last_name": " ",
            "country": "Atlantis",
            "postcode": "75002",
        }
    )
    assert record.invalid == ["email", "country", "birth_date"]
    assert set(record.reasons) == set(record.invalid)
    # An invalid country is not replaced by the default; the postcode is read as French.
    assert record.fields == {"postcode": "75002"}


def test_record_country_sets_phone_region_and_postcode_rules() -> None:
    record = normalize_record({"phone": "020 8366 1177", "postcode": "nr9 5al", "country": "UK"})
    assert record.invalid == ["phone", "postcode", "country"]  # "UK" is not an ISO code
    record = normalize_record(
        {"phone": "020 8366 1177", "postcode": "nr9 5al", "country": "Royaume-Uni"}
    )
    assert record.fields == {"phone": "+442083661177", "postcode": "NR95AL", "country": "GB"}
