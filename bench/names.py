"""Names as people write them: a labelled corpus of (holder's name, buyer's name) pairs, and
what each check kind makes of them (issue: typo-tolerant checks).

    python -m bench names                 # the report: recall per class and kind, false matches
    python -m bench names --write-corpus  # corpus/names.csv made again (the same bytes)

Every pair is one person's record on both sides: the same e-mail, phone, address and birth date,
the name written two ways, labelled by how (CLASSES). Negatives are two different people with the
same contact points and address (a name mistyped into another's file, or a stolen identity): a
check that matches them matches the wrong person. The pairs are made from Faker's French name
lists with a fixed seed, so that the file is reproducible byte for byte (corpus/README.md).

Today every pair check is exact (the normalised names identical): this measures that baseline,
kind by kind, before tolerant checks exist."""

import argparse
import csv
import io
import json
import random
import re
import secrets
from collections import Counter
from dataclasses import asdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from typing import Final

from faker import Faker
from faker.providers.person.fr_FR import Provider as FrenchNames
from rich.console import Console
from rich.table import Table

from schemas.vocabulary import Level
from signatures import PAIR_KINDS
from signatures import sign_record

CORPUS: Final = Path(__file__).resolve().parent.parent / "corpus" / "names.csv"
SEED: Final = 20261202
PAIRS_PER_CLASS: Final = 300
BORN_FROM: Final = date(1936, 1, 1)
BORN_UNTIL: Final = date(2008, 12, 31)

#: class -> what it holds; a class's variants name how each pair was made.
CLASSES: Final[dict[str, str]] = {
    "identical": "the same name, written the same way (accents and case may differ)",
    "one_edit": "one letter of the last name substituted, inserted, deleted or transposed",
    "phonetic": "a common French spelling variant of the last name (t/d, ph/f, double letters, "
    "silent endings, y/i, c/k/qu, eau/o)",
    "compound_given": "a compound given name against its first part (Jean-Pierre / Jean)",
    "particle": "a last name with a particle against the name without it or joined to it "
    "(de la Fontaine / Fontaine / Delafontaine)",
    "two_last_names": "two last names against the first of them (Martin Dupont / Martin)",
    "swapped": "first and last names swapped in the form",
    "initial": "the given name against its initial (Jean / J.)",
    "negative": "two different people: same first letter, a last name of similar length",
}
#: The recall a tolerant check must reach (issue 18); the others are reported only.
TARGETS: Final[dict[str, float]] = {
    "one_edit": 0.95,
    "phonetic": 0.95,
    "particle": 0.98,
    "compound_given": 0.98,
    "swapped": 0.98,
}
#: The share of negatives a close check may match, at most; an exact check must match none.
MAX_FALSE_CLOSE: Final = 0.01
FIELDS: Final = (
    "class", "variant", "holder_first_name", "holder_last_name", "buyer_first_name",
    "buyer_last_name", "email", "phone", "street", "postcode", "country", "birth_date",
)  # fmt: skip
PARTICLES: Final = ("de", "du", "le", "la", "de la", "d'")
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_VOWELS: Final = "aeiouy"


@dataclass(frozen=True)
class Pair:
    label: str
    variant: str
    holder_first_name: str
    holder_last_name: str
    buyer_first_name: str
    buyer_last_name: str
    email: str
    phone: str
    street: str
    postcode: str
    country: str
    birth_date: str

    def row(self) -> list[str]:
        values = asdict(self)
        return [values["label"], *(values[name] for name in FIELDS[1:])]

    def side(self, who: str) -> dict[str, str]:
        """The record as the holder or the buyer has it."""
        return {
            "first_name": getattr(self, f"{who}_first_name"),
            "last_name": getattr(self, f"{who}_last_name"),
            "email": self.email,
            "phone": self.phone,
            "street": self.street,
            "postcode": self.postcode,
            "country": self.country,
            "birth_date": self.birth_date,
        }


def _fold(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _styled(name: str) -> str:
    """A lower-case name capitalised as people write it (each word, and after a hyphen)."""
    return re.sub(r"(^|[ \-'])([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(), name)


def _one_edit(rng: random.Random, name: str) -> tuple[str, str] | None:
    low = name.lower()
    letters = [i for i, c in enumerate(low) if c in _LETTERS]
    if len(letters) < 4:
        return None
    variant = rng.choice(("substitution", "insertion", "deletion", "transposition"))
    at = rng.choice(letters[1:])
    if variant == "substitution":
        edited = low[:at] + rng.choice(_LETTERS.replace(low[at], "")) + low[at + 1 :]
    elif variant == "insertion":
        edited = low[:at] + rng.choice(_LETTERS) + low[at:]
    elif variant == "deletion":
        edited = low[:at] + low[at + 1 :]
    else:
        pairs = [i for i in letters[1:-1] if low[i + 1] in _LETTERS and low[i] != low[i + 1]]
        if not pairs:
            return None
        at = rng.choice(pairs)
        edited = low[:at] + low[at + 1] + low[at] + low[at + 2 :]
    if _fold(edited) == _fold(low):
        return None
    return variant, _styled(edited)


#: variant -> (pattern, replacement) tried on the lower-case last name, in turn.
_PHONETIC: Final[dict[str, list[tuple[str, str]]]] = {
    "t_d": [(r"t$", "d"), (r"d$", "t")],
    "ph_f": [(r"ph", "f"), (r"(?<=[aeiou])f(?=[aeiou])", "ph")],
    "double_letters": [(r"([lnmtrsp])\1", r"\1"), (r"(?<=[aeiou])([lnt])(?=e$)", r"\1\1")],
    "silent_ending": [(r"(?<=[aeiou])([stxd])$", ""), (r"(?<=au)d$", "lt"), (r"(?<=[aeo]u)$", "x")],
    "y_i": [(r"y", "i"), (r"(?<=[aeo])i", "y")],
    "c_k_qu": [(r"qu", "k"), (r"c(?=[aou])", "k"), (r"k", "c")],
    "eau_o": [(r"eau", "o"), (r"au", "o")],
}


def _phonetic(rng: random.Random, name: str) -> tuple[str, str] | None:
    low = name.lower()
    for variant in rng.sample(list(_PHONETIC), len(_PHONETIC)):
        for pattern, replacement in _PHONETIC[variant]:
            edited = re.sub(pattern, replacement, low, count=1)
            if edited != low and len(_fold(edited)) >= 3:
                return variant, _styled(edited)
    return None


def _particle(rng: random.Random, name: str) -> tuple[str, str, str]:
    """d' before a vowel only (d'Arc, not d'Bernard)."""
    particle = rng.choice(PARTICLES if name[0].lower() in _VOWELS else PARTICLES[:-1])
    holder = f"{particle}{name}" if particle.endswith("'") else f"{particle} {name}"
    variant = rng.choice(("dropped", "joined"))
    buyer = (
        name if variant == "dropped" else particle.replace(" ", "").replace("'", "") + name.lower()
    )
    return variant, _styled(holder), _styled(buyer) if variant == "joined" else buyer


class _Maker:
    """Pairs of one class at a time, from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("fr_FR")
        self.faker.seed_instance(seed)
        self.last_names = sorted({n for n in FrenchNames.last_names if len(_fold(n)) >= 4})
        given = set(FrenchNames.first_names_male) | set(FrenchNames.first_names_female)
        self.given = sorted(n for n in given if "-" not in n and len(_fold(n)) >= 3)

    def person(self) -> dict[str, str]:
        fake = self.faker
        return {
            "email": fake.unique.email(),
            "phone": fake.unique.phone_number(),
            "street": fake.street_address(),
            "postcode": fake.postcode(),
            "country": "FR",
            # Between fixed days, not ages: the file must not change with the day it is made.
            "birth_date": fake.date_between_dates(BORN_FROM, BORN_UNTIL).isoformat(),
        }

    def pair(
        self, label: str, variant: str, holder: tuple[str, str], buyer: tuple[str, str]
    ) -> Pair:
        return Pair(label, variant, *holder, *buyer, **self.person())

    def make(self, label: str) -> Pair | None:
        rng = self.rng
        first, last = rng.choice(self.given), rng.choice(self.last_names)
        if label == "identical":
            written = rng.choice(("same", "upper", "lower"))
            shown = {"same": (first, last), "upper": (first.upper(), last.upper()),
                     "lower": (first.lower(), last.lower())}[written]  # fmt: skip
            return self.pair(label, written, (first, last), shown)
        if label == "one_edit":
            edited = _one_edit(rng, last)
            return (
                None
                if edited is None
                else self.pair(label, edited[0], (first, last), (first, edited[1]))
            )
        if label == "phonetic":
            varied = _phonetic(rng, last)
            return (
                None
                if varied is None
                else self.pair(label, varied[0], (first, last), (first, varied[1]))
            )
        if label == "compound_given":
            second = rng.choice([n for n in self.given if n != first])
            return self.pair(label, "first_part", (f"{first}-{second}", last), (first, last))
        if label == "particle":
            variant, holder, buyer = _particle(rng, last)
            return self.pair(label, variant, (first, holder), (first, buyer))
        if label == "two_last_names":
            other = rng.choice([n for n in self.last_names if n != last])
            joiner = rng.choice((" ", "-"))
            return self.pair(
                label, "first_of_two", (first, f"{last}{joiner}{other}"), (first, last)
            )
        if label == "swapped":
            return self.pair(label, "first_last", (first, last), (last, first))
        if label == "initial":
            return self.pair(label, "given_initial", (first, last), (f"{first[0]}.", last))
        # negative: another person, same first letters, similar lengths
        others = [n for n in self.last_names if n[0] == last[0] and n != last
                  and abs(len(n) - len(last)) <= 1]  # fmt: skip
        given = [n for n in self.given if n[0] == first[0] and n != first]
        if not others or not given:
            return None
        return self.pair(
            label, "another_person", (first, last), (rng.choice(given), rng.choice(others))
        )


def generate(seed: int = SEED, per_class: int = PAIRS_PER_CLASS) -> list[Pair]:
    maker = _Maker(seed)
    pairs: list[Pair] = []
    for label in CLASSES:
        made = 0
        while made < per_class:
            pair = maker.make(label)
            if pair is not None:
                pairs.append(pair)
                made += 1
    return pairs


def negatives(count: int, seed: int = SEED + 1) -> list[Pair]:
    """More negatives than the corpus holds, from another seed: false matches are rare, and 300
    pairs see no rate under 1 in 300."""
    maker = _Maker(seed)
    pairs: list[Pair] = []
    while len(pairs) < count:
        pair = maker.make("negative")
        if pair is not None:
            pairs.append(pair)
    return pairs


def to_csv(pairs: list[Pair]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerows(pair.row() for pair in pairs)
    return out.getvalue()


def read(path: Path = CORPUS) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert tuple(rows[0]) == FIELDS, f"{path}: not the corpus's columns"
    return [Pair(*row) for row in rows[1:]]


def levels(pair: Pair, key: bytes) -> dict[str, Level]:
    """For each pair kind both sides can sign (every field valid): the level at which the
    service matches them, both sides signed under one key and compared as the server compares
    them (exact: the kind's signatures are the same; close: one close form's are)."""
    holder, buyer = (sign_record(pair.side(who), key) for who in ("holder", "buyer"))
    found: dict[str, Level] = {}
    for kind in PAIR_KINDS:
        if kind not in holder.signatures or kind not in buyer.signatures:
            continue
        held, asked = (set(side.close.get(kind, ())) for side in (holder, buyer))
        if holder.signatures[kind] == buyer.signatures[kind]:
            found[kind] = Level.EXACT
        else:
            found[kind] = Level.CLOSE if held & asked else Level.NONE
    return found


def evaluate(pairs: list[Pair], key: bytes | None = None) -> dict[str, Any]:
    """Per class and kind: how many pairs the kind could check, and the share it matched exactly
    and exactly or closely (recall; for negatives, the false-match rates)."""
    key = key or secrets.token_bytes(32)
    found: dict[str, dict[str, Counter[Level]]] = {label: {} for label in CLASSES}
    for pair in pairs:
        for kind, level in levels(pair, key).items():
            found[pair.label].setdefault(kind, Counter())[level] += 1
    return {
        label: {
            kind: {
                "pairs": sum(counts.values()),
                "exact": counts[Level.EXACT] / sum(counts.values()),
                "exact_or_close": (counts[Level.EXACT] + counts[Level.CLOSE])
                / sum(counts.values()),
            }
            for kind, counts in sorted(found[label].items())
        }
        for label in CLASSES
    }


def shortfalls(report: dict[str, Any]) -> list[str]:
    """What misses issue 18's marks: a target class's recall, a false match on negatives."""
    missed = []
    for label, kinds in report.items():
        for kind, shares in kinds.items():
            target = TARGETS.get(label)
            if target is not None and shares["exact_or_close"] < target:
                missed.append(f"{label} {kind}: {shares['exact_or_close']:.3f} < {target}")
            if label == "negative" and shares["exact"] > 0:
                missed.append(f"negative {kind}: exact false matches {shares['exact']:.3f}")
            if label == "negative" and shares["exact_or_close"] > MAX_FALSE_CLOSE:
                missed.append(f"negative {kind}: {shares['exact_or_close']:.3f} close")
    return missed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench names", description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--write-corpus", action="store_true", help=f"write {CORPUS.name} again")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    parser.add_argument(
        "--negatives", type=int, default=20_000, help="more negatives to measure false matches on"
    )
    options = parser.parse_args(argv)
    if options.write_corpus:
        CORPUS.write_text(to_csv(generate()), encoding="utf-8")
        print(f"wrote {CORPUS}")
        return
    report = evaluate(read())
    more = evaluate(negatives(options.negatives))["negative"] if options.negatives else {}
    if options.json:
        print(json.dumps({**report, f"negative_{options.negatives}": more}, indent=2))
        return
    kinds = sorted(PAIR_KINDS)
    table = Table(
        title="Names: the share of pairs each check matches, exact / exact or close",
        caption="pairs each check could check: "
        + ", ".join(f"{kind} {report['identical'][kind]['pairs']}" for kind in kinds)
        + " (per class)",
    )
    table.add_column("class")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for label, found in report.items():
        shares = [
            f"{found[k]['exact']:.2f} / {found[k]['exact_or_close']:.2f}" if k in found else "-"
            for k in kinds
        ]
        table.add_row(f"{label} (false matches)" if label == "negative" else label, *shares)
    console = Console(width=120)
    console.print(table)
    missed = shortfalls(report)
    if more:
        rates = ", ".join(
            f"{kind} {found['exact']:.4f} / {found['exact_or_close']:.4f} of {found['pairs']:,}"
            for kind, found in more.items()
        )
        console.print(f"{options.negatives:,} more negatives (seed {SEED + 1}): {rates}")
        missed += shortfalls({"negative": more})
    console.print("\n".join(missed) if missed else "every target met (issue 18)")
