"""Tolerant forms of a name (spec v1, section 8): what a `close` check is made of.

A pair kind's close forms are the kind's canonical message with the names written in other ways:
the last name with one letter left out, its words taken apart, its French phonetic key; the first
part of a compound given name; the two names in either order. Two records whose names are one
typing or spelling slip apart share at least one form, and since each form is signed with the
kind's other fields (the e-mail, the phone, the address or the birth date), a form's signature is
as particular to one person as the exact one: no name is ever signed on its own, so the index
holds no value that repeats with a name's frequency.

Everything here is pure and exact: holder tools in any language produce the same forms from the
spec's rules, in the same order (docs/signature-vectors-v1.json holds them).
"""

import re
from collections.abc import Mapping
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from signatures.kinds import KINDS
from signatures.kinds import MAX_CLOSE_FORMS
from signatures.kinds import PAIR_KINDS

#: first_name, last_name -> their folded words (NormalizedRecord.names).
Names = Mapping[str, Sequence[str]]
#: Words dropped before a last name ("de la Fontaine" -> "fontaine"); d' and l' fold to d and l.
PARTICLES: Final = frozenset({"d", "de", "del", "della", "des", "di", "du", "l", "la", "le", "les",
                              "van", "von", "der", "den", "da", "dos", "y"})  # fmt: skip
#: A last name gets its one-letter deletions when it has this many letters (bounds: the cap).
DELETIONS_FROM: Final = 4
DELETIONS_UP_TO: Final = 16
#: Last names whose forms are kept (names repeat; about 1.5 kB each: some 12 MB).
NAME_CACHE_SIZE: Final = 8192
#: Words of a last name taken apart, at most.
MAX_WORDS: Final = 3
#: The message of a close form: the kind's, with this after the kind's name, then the form's tag.
CLOSE_MARK: Final = "~close"

#: pair kind -> the fields its close forms sign, in order: the kind's own, and the given name
#: after the last name where the kind has none (a last name one letter off is evidence only when
#: the given name agrees: Leconte and Lecomte are two families, Jean Leconte and Jean Lecomte may
#: be one man).
CLOSE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    kind: KINDS[kind] if "first_name" in KINDS[kind] else (*KINDS[kind], "first_name")
    for kind in sorted(PAIR_KINDS, key=list(KINDS).index)
}

#: The French phonetic key, rules applied in this order, each to the whole name (section 8).
PHONETIC_RULES: Final[tuple[tuple[str, str], ...]] = (
    (r"(?:eau|au|o)(?:lt|ld|lx|ds|ts|d|t|x|s)$", "o"),  # Arnault, Arnaud, Hoaraux, Bardots
    (r"eau", "o"),
    (r"au", "o"),
    (r"ph", "f"),
    (r"qu", "k"),
    (r"ck", "k"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"q", "k"),
    (r"y", "i"),
    (r"h", ""),
    (r"([a-z])\1+", r"\1"),
    (r"(?<=[a-z])[stdxz]+$", ""),
    (r"(?<=[a-z]{2})e$", ""),
)
_PHONETIC: Final = tuple(
    (re.compile(pattern), replacement) for pattern, replacement in PHONETIC_RULES
)


def phonetic_key(name: str) -> str:
    """The French phonetic key of a folded name (its letters only)."""
    for pattern, replacement in _PHONETIC:
        name = pattern.sub(replacement, name)
    return name


def deletions(name: str) -> list[str]:
    """The name, then the name without each of its letters in turn (first occurrence kept, so
    "bailly" gives "baily" once): empty unless it has DELETIONS_FROM..DELETIONS_UP_TO letters."""
    if not DELETIONS_FROM <= len(name) <= DELETIONS_UP_TO:
        return []
    return [name, *(name[:at] + name[at + 1 :] for at in range(len(name)))]


def last_name_forms(words: Sequence[str]) -> list[str]:
    """The ways a last name (its folded words) is written: whole, without one letter, after its
    particles, and each of its words (two last names, a married and a maiden name)."""
    whole = "".join(words)
    forms = [whole, *deletions(whole)]
    if len(words) >= 2:
        leading = 0
        while leading < len(words) - 1 and words[leading] in PARTICLES:
            leading += 1
        if leading:
            forms.append("".join(words[leading:]))
        forms += [word for word in words if len(word) >= 3 and word not in PARTICLES][:MAX_WORDS]
    return _unique(forms)


def given_name_forms(words: Sequence[str]) -> list[str]:
    """A given name whole, and the first part of a compound one (Jean-Pierre: jean)."""
    whole = "".join(words)
    return _unique([whole, words[0]] if len(words) >= 2 and len(words[0]) >= 2 else [whole])


def name_forms(
    last_words: Sequence[str], given_words: Sequence[str]
) -> tuple[tuple[str, str, str], ...]:
    """(tag, last name, given name) of each close form of a pair of names, the same for every
    pair kind, in the spec's order, each once, at most MAX_CLOSE_FORMS (1 + 16 deletions, 3
    words, the name after its particles, the given name's first part, the phonetic key, the
    swapped names: 24 at the very most)."""
    last, first = "".join(last_words), "".join(given_words)
    written, key = _last_name(tuple(last_words))
    forms = [("n", form, first) for form in written]
    forms += [("n", last, given) for given in given_name_forms(given_words)[1:]]
    forms.append(("p", key, first))
    if first != last:
        forms.append(("s", " ".join(sorted((first, last))), ""))
    return tuple(dict.fromkeys(forms))[:MAX_CLOSE_FORMS]


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _last_name(words: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """A last name's forms and phonetic key, kept for the names that repeat (a bounded cache: the
    costly part, the same whatever the given name)."""
    return tuple(last_name_forms(words)), phonetic_key("".join(words))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
