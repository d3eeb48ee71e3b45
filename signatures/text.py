"""Text folding shared by the fields: trimming, and the name fold (names, streets, countries)."""

import unicodedata
from typing import Final

# Zero-width characters that spreadsheets leave around values; Python's isspace() misses them.
_ZERO_WIDTH: Final = "\u200b\u2060\ufeff"

# Letters that do not decompose into a base letter and a mark, mapped after case folding.
_SPECIAL: Final[dict[str, str]] = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
}

_ASCII_DIGITS: Final = frozenset("0123456789")


def trim(value: str) -> str:
    """NFKC, then strip white space of every kind (tabs, no-break spaces, zero-width)."""
    text = unicodedata.normalize("NFKC", value)
    start, end = 0, len(text)
    while start < end and _is_blank(text[start]):
        start += 1
    while end > start and _is_blank(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_blank(char: str) -> bool:
    return char.isspace() or char in _ZERO_WIDTH


def fold_words(text: str, *, keep_digits: bool = False) -> list[str]:
    """Case-fold, drop combining marks, map special letters, split on anything else.

    Returns the words made of letters (any script) and, with ``keep_digits``, ASCII digits;
    every other character separates words. The words stay decomposed (NFKD): "정" comes back
    as its three conjoining jamo, as the public vectors expect.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    words: list[str] = []
    current: list[str] = []
    for char in decomposed:
        if unicodedata.category(char) == "Mn":
            continue
        for mapped in _SPECIAL.get(char, char):
            if mapped.isalpha() or (keep_digits and mapped in _ASCII_DIGITS):
                current.append(mapped)
            elif current:
                words.append("".join(current))
                current = []
    if current:
        words.append("".join(current))
    return words


def fold_name(text: str) -> str:
    """The name fold: letters only, case-folded, without accents ("Le Gall" -> "legall")."""
    return "".join(fold_words(text))
