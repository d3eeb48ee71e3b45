"""Street, postcode and country normalisation."""

import gettext
import re
import unicodedata
from functools import cache
from functools import lru_cache
from typing import Final

import pycountry

from signatures.errors import InvalidValue
from signatures.text import fold_name
from signatures.text import fold_words

# Street words replaced whole (after folding), as French addresses abbreviate them.
STREET_WORDS: Final[dict[str, str]] = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "r": "rue",
    "pl": "place",
    "ch": "chemin",
    "che": "chemin",
    "imp": "impasse",
    "rte": "route",
    "fbg": "faubourg",
    "all": "allee",
    "sq": "square",
    "crs": "cours",
    "qu": "quai",
    "pass": "passage",
    "res": "residence",
    "lot": "lotissement",
    "st": "saint",
    "ste": "sainte",
}

CACHE_SIZE: Final = 65_536  # distinct postcodes (France has about 6,000), country names
_POSTCODE: Final = re.compile(r"[A-Z0-9]{2,}")
_FRENCH_POSTCODE: Final = re.compile(r"[0-9]{4,5}")


def normalize_street(value: str) -> str:
    words = [STREET_WORDS.get(word, word) for word in fold_words(value, keep_digits=True)]
    if not words:
        raise InvalidValue("no letter or digit")
    joined = "".join(words)
    # "S:T" joins to "st": replaced too, so that the normal form is its own normal form.
    return STREET_WORDS.get(joined, joined)


@lru_cache(maxsize=CACHE_SIZE)
def normalize_postcode(value: str, country: str) -> str:
    """A pure function of few distinct values, so its answers are kept (a bounded cache)."""
    code = "".join(
        char for char in value.upper() if not (char.isspace() or unicodedata.category(char) == "Pd")
    )
    if not _POSTCODE.fullmatch(code):
        raise InvalidValue("a postcode is at least 2 letters (A-Z) or digits, and nothing else")
    if country == "FR":
        if not _FRENCH_POSTCODE.fullmatch(code):
            raise InvalidValue("a French postcode is 5 digits")
        code = code.zfill(5)
    return code


@lru_cache(maxsize=CACHE_SIZE)
def normalize_country(value: str) -> str:
    key = fold_name(value)
    found = _codes().get(key) if len(key) in (2, 3) else _names().get(key)
    if found is None:
        raise InvalidValue("not an ISO 3166-1 code nor a country name in English or French")
    return found


@cache
def _codes() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        table[country.alpha_2.lower()] = country.alpha_2
        table[country.alpha_3.lower()] = country.alpha_2
    return table


@cache
def _names() -> dict[str, str]:
    """Folded English and French names -> alpha-2; a name two countries share is left out."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    table: dict[str, str] = {}
    ambiguous: set[str] = set()
    for country in pycountry.countries:
        english = [
            name
            for attribute in ("name", "official_name", "common_name")
            if (name := getattr(country, attribute, None))
        ]
        for name in english + [french.gettext(name) for name in english]:
            for variant in _variants(name):
                key = fold_name(variant)
                if len(key) <= 3:
                    continue
                if table.setdefault(key, country.alpha_2) != country.alpha_2:
                    ambiguous.add(key)
    for key in ambiguous:
        del table[key]
    return table


def _variants(name: str) -> tuple[str, ...]:
    """The name, and its head before a qualifier: "Bolivie (État plurinational de)" -> "Bolivie"."""
    head = re.split(r"[(,]", name, maxsplit=1)[0]
    return (name, head) if head != name else (name,)
