"""Normalisation of fields and records, as signature spec v1 says."""

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from signatures.address import normalize_country
from signatures.address import normalize_postcode
from signatures.address import normalize_street
from signatures.contact import normalize_email
from signatures.contact import normalize_phone
from signatures.dates import normalize_birth_date
from signatures.errors import InvalidValue
from signatures.kinds import FIELDS
from signatures.text import fold_words
from signatures.text import trim


@dataclass(frozen=True, slots=True)
class NormalizedRecord:
    """A record's valid fields in normal form, and the names of those that were invalid."""

    fields: dict[str, str]
    invalid: list[str]
    #: field -> why it is invalid; may quote the value, so it is for the data's owner only.
    reasons: dict[str, str] = field(default_factory=dict)
    #: first_name, last_name -> their folded words, when valid: what close forms are made of.
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _name(value: str) -> str:
    return "".join(name_words(value))


def name_words(value: str) -> tuple[str, ...]:
    """A name's folded words; its normal form is them joined (spec v1: first_name, last_name)."""
    words = tuple(fold_words(value))
    if not words:
        raise InvalidValue("no letter")
    return words


_NAMES = frozenset({"first_name", "last_name"})
_IN_CONTEXT: dict[str, Callable[[str, str], str]] = {
    "phone": normalize_phone,
    "postcode": normalize_postcode,
}
_ALONE: dict[str, Callable[[str], str]] = {
    "email": normalize_email,
    "first_name": _name,
    "last_name": _name,
    "street": normalize_street,
    "country": normalize_country,
    "birth_date": normalize_birth_date,
}


def check_default_country(default_country: str) -> str:
    """The request's default country as alpha-2; a bad one is the caller's error (ValueError)."""
    try:
        return normalize_country(default_country)
    except InvalidValue:
        raise ValueError(f"unknown default country {default_country!r}") from None


def check_field(
    field: str, value: str | None, *, country: str | None = None, default_country: str = "FR"
) -> str | None:
    """The normal form of ``value``; None when absent; raises InvalidValue when invalid.

    ``country`` is the record's own country, raw as given: it sets the region of a phone
    number and the rules of a postcode. When it is absent or invalid, ``default_country`` does.
    Unknown field names raise KeyError.
    """
    if field not in FIELDS:
        raise KeyError(f"unknown field {field!r}")
    if field in _IN_CONTEXT:
        return _check(field, value, _context_country(country, default_country))
    return _check(field, value, "")


def _check(field: str, value: str | None, region: str) -> str | None:
    if value is None:
        return None
    text = trim(value)
    if not text:
        return None
    return _normal_form(field, text, region)


def _normal_form(field: str, text: str, region: str) -> str:
    """A trimmed, non-empty value's normal form: alone, or in the region of its record."""
    alone = _ALONE.get(field)
    return alone(text) if alone is not None else _IN_CONTEXT[field](text, region)


def normalize_field(
    field: str, value: str | None, *, country: str | None = None, default_country: str = "FR"
) -> str | None:
    """The normal form of ``value``, or None when it is absent or invalid."""
    try:
        return check_field(field, value, country=country, default_country=default_country)
    except InvalidValue:
        return None


def _context_country(country: str | None, default_country: str) -> str:
    own = normalize_field("country", country)
    return own if own is not None else check_default_country(default_country)


def normalize_record(
    record: Mapping[str, str | None], *, default_country: str = "FR"
) -> NormalizedRecord:
    """Normalise every field of the spec that ``record`` holds; other keys are ignored.

    When the record has a street or a postcode but no country, the default country fills it in.
    The record's country is read first: it is the context of its phone and postcode.
    """
    default = check_default_country(default_country)
    try:
        country = _check("country", record.get("country"), "")
        country_reason = None
    except InvalidValue as exc:
        country, country_reason = None, str(exc)
    region = country or default
    fields: dict[str, str] = {}
    reasons: dict[str, str] = {}
    names: dict[str, tuple[str, ...]] = {}
    for name in FIELDS:  # street and postcode come before country
        if name == "country":
            if country_reason is not None:
                reasons[name] = country_reason
            elif country is not None or "street" in fields or "postcode" in fields:
                fields[name] = region
            continue
        raw = record.get(name)
        if raw is None or not (text := trim(raw)):
            continue
        try:
            if name in _NAMES:
                names[name] = name_words(text)
                fields[name] = "".join(names[name])
            else:
                fields[name] = _normal_form(name, text, region)
        except InvalidValue as exc:
            reasons[name] = str(exc)
    return NormalizedRecord(fields, list(reasons), reasons, names)
