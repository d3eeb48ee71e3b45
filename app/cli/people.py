"""Generated French customer files (for `idcheck demo` and the benchmark), fast enough for millions
of rows.

Faker (fr_FR) fills pools of names, streets and postcodes once; rows combine them at random, so a
million rows take seconds, not the minutes Faker would take row by row. Some values are dirty on
purpose (bad emails, foreign phones, missing fields), as real files are.
"""

import csv
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

HEADER = {
    "external_id": "Référence",
    "last_name": "Nom",
    "first_name": "Prénom",
    "email": "Courriel",
    "phone": "Téléphone",
    "street": "Adresse",
    "postcode": "Code postal",
    "city": "Ville",
    "country": "Pays",
    "birth_date": "Date de naissance",
}
# Allocated metropolitan mobile ranges (ARCEP); 0639 and 069x are overseas, 070-072 unused.
MOBILE_PREFIXES = ["0601", "0612", "0620", "0633", "0645", "0658", "0667", "0680", "0750", "0767"]
DOMAINS = ["orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "yahoo.fr", "outlook.fr"]


@dataclass(frozen=True)
class Pools:
    first_names: list[str]
    last_names: list[str]
    streets: list[str]
    places: list[tuple[str, str]]  # (postcode, city)

    @classmethod
    def make(cls, seed: int, size: int = 2000) -> "Pools":
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        return cls(
            first_names=[fake.first_name() for _ in range(size)],
            last_names=[fake.last_name() for _ in range(size)],
            streets=[fake.street_address() for _ in range(size)],
            places=[(fake.postcode(), fake.city()) for _ in range(size // 4)],
        )


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-"))


def people(count: int, seed: int = 1, *, dirty: float = 0.05) -> Iterator[dict[str, str]]:
    """``count`` customer records as a CRM exports them (raw, unnormalised strings)."""
    pools = Pools.make(seed)
    rng = random.Random(seed)  # noqa: S311  (made-up people, not secrets)
    for index in range(count):
        first = rng.choice(pools.first_names)
        last = rng.choice(pools.last_names)
        postcode, city = rng.choice(pools.places)
        mobile = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**6):06d}"
        phone = rng.choice(
            [
                " ".join(mobile[i : i + 2] for i in range(0, 10, 2)),
                ".".join(mobile[i : i + 2] for i in range(0, 10, 2)),
                "+33 " + mobile[1:],
                mobile,
            ]
        )
        email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(100)}@{rng.choice(DOMAINS)}"
        record = {
            "external_id": f"C{index:08d}",
            "last_name": last,
            "first_name": first,
            "email": email,
            "phone": phone,
            "street": rng.choice(pools.streets),
            "postcode": postcode,
            "city": city,
            "country": rng.choice(["France", "FR", "", ""]),
            "birth_date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
            f"{rng.randint(1940, 2005)}",
        }
        if rng.random() < dirty:
            spoiled = rng.choice(["email", "phone", "birth_date", "postcode"])
            record[spoiled] = {
                "email": email.replace("@", " at "),
                "phone": "12 34",
                "birth_date": "31/02/1990",
                "postcode": "7500",
            }[spoiled]
        if rng.random() < dirty:
            record[rng.choice(["email", "phone", "street"])] = ""
        yield record


def write_csv(
    path: Path,
    records: Iterator[dict[str, str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
) -> int:
    """Write records under French headers, as Excel in France would; returns the row count."""
    rows = 0
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER.values())
        for record in records:
            writer.writerow(record.get(name, "") for name in HEADER)
            rows += 1
    return rows
