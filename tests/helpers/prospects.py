"""A buyer's prospect file made from people some holders know: the variations buyers' files have."""

import random
import unicodedata
from collections.abc import Mapping

from app.cli.people import people
from signatures import PAIR_KINDS


def expected_verdict(checks: Mapping[str, bool]) -> str:
    """The verdict rule of docs/api.md, from each signable kind's match, written out apart from
    the server's code: no kind, invalid; a pair kind matched, verified; a contact kind, partial."""
    matched = {kind for kind, match in checks.items() if match}
    if not checks:
        return "invalid"
    if matched & PAIR_KINDS:
        return "verified"
    return "partial" if matched else "unverified"


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _phone_variant(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    national = "0" + digits[-9:] if len(digits) >= 9 else phone
    return f"+33 {national[1]} {national[2:4]} {national[4:6]} {national[6:8]} {national[8:]}"


def buyer_file(known: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    """Exact copies, other surnames, unknown people, invalid fields, other case, accents and
    phone formats, in a shuffled order."""
    strangers = list(people(200, seed=99))
    variants = []
    for index in range(1000):
        person = dict(rng.choice(known))
        person.pop("external_id")
        kind = index % 7
        if kind == 1:
            person["last_name"] = "Autrenom"
        elif kind == 2:
            person = {k: v for k, v in strangers[index % 200].items() if k != "external_id"}
        elif kind == 3:
            person.update(email="pas-un-email", phone="12 34", birth_date="31/02/1990")
        elif kind == 4:
            person.update(
                email=person["email"].upper(),
                last_name=person["last_name"].upper(),
                first_name=person["first_name"].lower(),
            )
        elif kind == 5:
            person["last_name"] = _strip_accents(person["last_name"])
            person["first_name"] = _strip_accents(person["first_name"]).upper()
        elif kind == 6 and person["phone"]:
            person["phone"] = _phone_variant(person["phone"])
        person["ref"] = f"row-{index}"
        variants.append(person)
    return variants
