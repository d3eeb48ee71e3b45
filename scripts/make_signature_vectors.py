"""Generate the signature test vectors of spec v1, once: docs/signature-vectors-v1.json (HMAC)
and docs/signature-vectors-oprf.json (blind mode, RFC 9497 ristretto255-SHA512).

    python -m scripts.make_signature_vectors          # rewrite the JSON file and the spec's table
    python -m scripts.make_signature_vectors --check  # exit 1 if either differs from the code

The JSON file is checked in; tests/signatures/test_spec_vectors.py holds the code to it, so that
any change of behaviour shows as a diff of this file.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from signatures import CLOSE_SLOTS
from signatures import KINDS
from signatures import SPEC
from signatures import Scheme
from signatures import canonical_message
from signatures import close_messages
from signatures import derive_oprf_secret
from signatures import derive_signing_key
from signatures import normalize_record
from signatures import oprf
from signatures import sign_fields
from signatures.kinds import split_slots

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "docs" / "signature-vectors-v1.json"
OPRF_VECTORS = ROOT / "docs" / "signature-vectors-oprf.json"
SPEC_DOC = ROOT / "docs" / "signature-spec.md"
START, END = "<!-- vectors:start -->", "<!-- vectors:end -->"
OPRF_START, OPRF_END = "<!-- oprf-vectors:start -->", "<!-- oprf-vectors:end -->"
CLOSE_START, CLOSE_END = "<!-- close-vectors:start -->", "<!-- close-vectors:end -->"
#: (record number, kind) whose close forms the spec's table shows: Jean Dupont's e-mail and name,
#: and a compound given name with a particle before the last name.
CLOSE_TABLE = ((1, "email_name"), (15, "name_birth_date"))
OPRF_VERSION = 2
#: The blind of every OPRF vector: RFC 9497 A.1.1's first one (a client draws a fresh random one).
OPRF_BLIND = bytes.fromhex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706")
OPRF_RECORDS = (0, 1, 6)  # Jean Dupont (every kind), Marie Curie, and a name in Hangul

MASTER = bytes(range(32))  # 000102...1f: a published test secret, never a real one
VERSION = 1
DEFAULT_COUNTRY = "FR"

RECORDS: list[dict[str, str]] = [
    {
        "email": "Jean.Dupont@Orange.fr",
        "phone": "06 12 34 56 78",
        "first_name": "Jean",
        "last_name": "Dupont",
        "street": "12 bis av. Victor-Hugo",
        "postcode": "75016",
        "country": "France",
        "birth_date": "14/07/1975",
    },
    {
        "email": "Marie.Curie+promo@GMail.com",
        "phone": "06.98.76.54.32",
        "first_name": "Marie",
        "last_name": "Curie",
    },
    {
        "first_name": "Émilie-Anne",
        "last_name": "Le Gall",
        "street": "3 bd St-Michel",
        "postcode": "1000",
        "birth_date": "1.2.1980",
    },
    {"phone": "0590 27 88 88", "last_name": "Célestin", "postcode": "97110"},
    {
        "email": "j.smith@example.co.uk",
        "phone": "020 8366 1177",
        "first_name": "John",
        "last_name": "O'Brien",
        "street": "10 Downing St",
        "postcode": "SW1A 2AA",
        "country": "Royaume-Uni",
    },
    {
        "email": "k.mueller@beispiel.de",
        "first_name": "Jürgen",
        "last_name": "Müller-Strauß",
        "street": "Hauptstraße 5",
        "postcode": "10115",
        "country": "DEU",
        "birth_date": "1968-03-09",
    },
    {"email": "jeong@example.kr", "first_name": "민준", "last_name": "정", "country": "KR"},
    {"email": "jean.dupont@", "phone": "+33 6 12 34 56 78", "last_name": "Dupont"},
    {
        "email": "not-an-email",
        "phone": "123",
        "first_name": "---",
        "birth_date": "31/02/1990",
    },
    {"email": "Élodie@Exämple.FR", "last_name": "Lætitia-Œuvray"},
    {
        "phone": "(650) 555-1212",
        "first_name": "Mary",
        "last_name": "Smith",
        "street": "1600 Amphitheatre Pkwy",
        "postcode": "94043",
        "country": "usa",
    },
    {
        "email": "\u00a0paul.martin@free.fr\t",
        "phone": "0033 1 42 68 53 00",
        "first_name": " Paul ",
        "last_name": "MARTIN",
        "birth_date": "05-03-1995",
    },
    {
        "first_name": "Łukasz",
        "last_name": "Ødegård",
        "street": "Rte de Ste-Foy",
        "postcode": "69005",
        "country": "Atlantis",
    },
    {"phone": "0262 12 34 56", "last_name": "Payet", "country": "Réunion"},
    {
        "email": "jp.delafontaine@example.fr",
        "first_name": "Jean-Pierre",
        "last_name": "de La Fontaine",
        "birth_date": "1961-09-30",
    },
]


def _describe(message: bytes) -> str:
    return message.decode("utf-8").replace("\x1f", "␟")


def build() -> dict[str, Any]:
    key = derive_signing_key(MASTER, VERSION)
    cases = []
    for record in RECORDS:
        normalized = normalize_record(record, default_country=DEFAULT_COUNTRY)
        signatures, close = split_slots(sign_fields(normalized.fields, key, normalized.names))
        messages = close_messages(normalized.fields, normalized.names)
        cases.append(
            {
                "input": record,
                "normalized": normalized.fields,
                "invalid": normalized.invalid,
                "canonical": {
                    kind: _describe(canonical_message(kind, normalized.fields))
                    for kind in signatures
                },
                "signatures": signatures,
                # Section 8: the names' words, then each pair kind's close forms in order.
                "names": {name: list(words) for name, words in normalized.names.items()},
                "close": {
                    kind: [
                        {"message": _describe(messages[slot]), "signature": signature}
                        for slot, signature in zip(CLOSE_SLOTS[kind], forms, strict=False)
                    ]
                    for kind, forms in close.items()
                },
            }
        )
    return {
        "spec": SPEC,
        "note": "canonical messages show the 0x1F separator as U+241F (␟); sign the real byte",
        "master_secret": MASTER.hex(),
        "key_version": VERSION,
        "signing_key": key.hex(),
        "default_country": DEFAULT_COUNTRY,
        "kinds": {kind: list(fields) for kind, fields in KINDS.items()},
        "records": cases,
    }


def build_oprf() -> dict[str, Any]:
    """The blind-mode steps of each kind of a few records: message, blind, blinded element,
    evaluated element, output and signature."""
    secret = derive_oprf_secret(MASTER, OPRF_VERSION)
    cases = []
    for index in OPRF_RECORDS:
        normalized = normalize_record(RECORDS[index], default_country=DEFAULT_COUNTRY)
        for kind in KINDS:
            if not all(name in normalized.fields for name in KINDS[kind]):
                continue
            message = canonical_message(kind, normalized.fields)
            blinded = oprf.blind(message, OPRF_BLIND)
            evaluated = oprf.blind_evaluate(secret, blinded.element)
            output = oprf.finalize(message, blinded.blind, evaluated)
            assert output == oprf.evaluate(secret, message)
            cases.append(
                {
                    "record": index + 1,
                    "kind": kind,
                    "message_hex": message.hex(),
                    "message": _describe(message),
                    "blind": blinded.blind.hex(),
                    "blinded_element": blinded.element.hex(),
                    "evaluated_element": evaluated.hex(),
                    "output": output.hex(),
                    "signature": output[:16].hex(),
                }
            )
    return {
        "spec": SPEC,
        "scheme": str(Scheme.OPRF),
        "rfc9497": {"mode": oprf.MODE, "suite": oprf.SUITE, "context": oprf.CONTEXT.hex()},
        "master_secret": MASTER.hex(),
        "key_version": OPRF_VERSION,
        "seed_info": f"idcheck oprf seed v{OPRF_VERSION}",
        "derive_key_pair_info": f"idcheck oprf v{OPRF_VERSION}",
        "private_key": secret.hex(),
        "cases": cases,
    }


def render_oprf_table(vectors: dict[str, Any]) -> str:
    lines = [
        OPRF_START,
        f"Master secret: `{vectors['master_secret']}`  ",
        f"Private key v{vectors['key_version']} (the server's, never handed out): "
        f"`{vectors['private_key']}`  ",
        f"Blind (every case): `{vectors['cases'][0]['blind']}`",
        "",
        "| # | kind | blinded element | evaluated element | signature |",
        "|---|---|---|---|---|",
    ]
    for case in vectors["cases"]:
        lines.append(
            f"| {case['record']} | `{case['kind']}` | `{case['blinded_element']}` | "
            f"`{case['evaluated_element']}` | `{case['signature']}` |"
        )
    lines.append(OPRF_END)
    return "\n".join(lines)


def render_close_table(vectors: dict[str, Any]) -> str:
    """Every close form of one kind of a few records, as the spec shows them."""
    lines = [
        CLOSE_START,
        "| # | kind | canonical message of the close form (␟ = 0x1F) | signature |",
        "|---|---|---|---|",
    ]
    for number, kind in CLOSE_TABLE:
        for form in vectors["records"][number - 1]["close"][kind]:
            message = form["message"].replace("|", "\\|")
            lines.append(f"| {number} | `{kind}` | `{message}` | `{form['signature']}` |")
    lines.append(CLOSE_END)
    return "\n".join(lines)


def render_json(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=1) + "\n"


def render_table(vectors: dict[str, Any]) -> str:
    lines = [
        START,
        f"Master secret: `{vectors['master_secret']}`  ",
        f"Signing key v{vectors['key_version']}: `{vectors['signing_key']}`  ",
        f"Default country: `{vectors['default_country']}`",
        "",
        "| # | kind | canonical message (␟ = 0x1F) | signature |",
        "|---|---|---|---|",
    ]
    for number, case in enumerate(vectors["records"], start=1):
        if not case["signatures"]:
            lines.append(f"| {number} | (none: invalid {', '.join(case['invalid'])}) | | |")
        for kind, signature in case["signatures"].items():
            message = case["canonical"][kind].replace("|", "\\|")
            lines.append(f"| {number} | `{kind}` | `{message}` | `{signature}` |")
    lines.append(END)
    return "\n".join(lines)


def with_table(document: str, table: str, start: str = START, end: str = END) -> str:
    head, rest = document.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + table + tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    vectors, blind = build(), build_oprf()
    document = SPEC_DOC.read_text(encoding="utf-8")
    document = with_table(document, render_table(vectors))
    document = with_table(document, render_oprf_table(blind), OPRF_START, OPRF_END)
    document = with_table(document, render_close_table(vectors), CLOSE_START, CLOSE_END)
    expected = {
        VECTORS: render_json(vectors),
        OPRF_VECTORS: render_json(blind),
        SPEC_DOC: document,
    }
    stale = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from what the code gives", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(expected[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
