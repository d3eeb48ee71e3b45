"""Text folding shared by the fields: trimming, and the name fold (names, streets, countries).

The fast paths (``signatures.fastpath``) give the rule's words by construction: ASCII text (most
of a French file) folds with one regular expression, since case folding, NFKD and the special
letters change nothing there but the case; other text folds piece by piece between white space
(which always separates words, and which no fold reaches across), each piece's fold kept in a
bounded cache, since name and street words repeat. ``fold_words_reference`` is the rule itself,
applied to the whole text: what the fast paths are tested against, and all that runs inside
``library_only()``. ``trim`` skips NFKC for ASCII, which it leaves as it is.
"""

import re
import unicodedata
from functools import lru_cache
from typing import Final

from signatures.fastpath import FAST_PATHS

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
_ASCII_WORDS: Final = re.compile("[a-z]+")
_ASCII_WORDS_AND_NUMBERS: Final = re.compile("[a-z0-9]+")
WORD_CACHE_SIZE: Final = 65_536  # distinct non-ASCII words whose fold is kept (a few MB)


def trim(value: str) -> str:
    """NFKC, then strip white space of every kind (tabs, no-break spaces, zero-width)."""
    if value.isascii() and FAST_PATHS.get():
        return value.strip()  # NFKC leaves ASCII as it is; no zero-width character is ASCII
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
    """The words of ``text`` as ``fold_words_reference`` gives them, faster (module docstring)."""
    if not FAST_PATHS.get():
        return fold_words_reference(text, keep_digits=keep_digits)
    if text.isascii():
        return (_ASCII_WORDS_AND_NUMBERS if keep_digits else _ASCII_WORDS).findall(text.lower())
    words: list[str] = []
    for piece in text.split():
        words += _fold_piece(piece, keep_digits)
    return words


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _fold_piece(piece: str, keep_digits: bool) -> tuple[str, ...]:
    return tuple(fold_words_reference(piece, keep_digits=keep_digits))


def fold_words_reference(text: str, *, keep_digits: bool = False) -> list[str]:
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
