"""`idcheck sign`: real CSV files in, the upload format out, checked against signatures/."""

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.people import HEADER
from app.cli.people import people
from app.cli.people import write_csv
from signatures import sign_record
from tests.helpers.commands import KEY_HEX
from tests.helpers.commands import idcheck

KEY = bytes.fromhex(KEY_HEX)
FIELDS = ("email", "phone", "first_name", "last_name", "street", "postcode", "country")


def _read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _no_leftovers(directory: Path, *names: str) -> None:
    left = sorted(p.name for p in directory.iterdir() if p.suffix == ".part" or p.name in names)
    assert left == []


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "cp1252"), (";", "utf-8-sig"), (",", "utf-8"), ("\t", "utf-8")],
)
def test_signs_every_row_as_the_library_does(
    tmp_path: Path, key_file: Path, delimiter: str, encoding: str
) -> None:
    records = list(people(300, seed=7))
    source = tmp_path / "clients.csv"
    write_csv(source, iter(records), delimiter=delimiter, encoding=encoding)
    output = tmp_path / "out.ndjson"
    run = idcheck(
        "sign", source, "--key-file", key_file, "-o", output,
        "--id-column", "Référence", "--key-version", "3",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    label = {"cp1252": "cp1252", "utf-8-sig": "UTF-8 with BOM", "utf-8": "utf-8"}[encoding]
    assert f"({label}, {delimiter!r})" in run.stderr
    lines = _read_ndjson(output)
    expected = {}
    for record in records:
        signed = sign_record(record, KEY)
        if signed.signatures:
            expected[record["external_id"]] = signed.signatures
    assert {line["external_id"]: line["signatures"] for line in lines} == expected
    assert {line["key_version"] for line in lines} == {3}
    assert "rows read" in run.stderr
    assert "300" in run.stderr


def test_english_headers_map_overrides_and_updated_column(tmp_path: Path, key_file: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_text(
        "Customer,E-mail,Surname,Given name,Mobile,Last change\n"
        "7,jane.doe@example.org,Doe,Jane,+44 7700 900123,2026-01-15\n"
        "8,john@example.org,Smith,John,,15/02/2025\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.ndjson"
    run = idcheck(
        "sign", source, "--key-file", key_file, "-o", output, "--id-column", "customer",
        "--updated-column", "Last change", "--map", "first_name=Given name",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = _read_ndjson(output)
    assert [(line["external_id"], line["updated_at"]) for line in lines] == [
        ("7", "2026-01-15"),
        ("8", "2025-02-15"),
    ]
    jane = sign_record(
        {
            "email": "jane.doe@example.org",
            "last_name": "Doe",
            "first_name": "Jane",
            "phone": "+44 7700 900123",
        },
        KEY,
    )
    assert lines[0]["signatures"] == jane.signatures
    assert lines[0]["close"] == jane.close  # the close forms of the names, in slot order
    assert set(lines[1]["signatures"]) == {"email", "email_name"}
    assert set(lines[1]["close"]) == {"email_name"}
    exact_only = idcheck(
        "sign", source, "--key-file", key_file, "-o", output, "--id-column", "customer",
        "--updated-column", "Last change", "--map", "first_name=Given name", "--no-close-forms",
    )  # fmt: skip
    assert exact_only.code == 0, exact_only.stderr
    lines = _read_ndjson(output)
    assert lines[0]["signatures"] == jane.signatures
    assert all("close" not in line for line in lines)


def test_without_an_id_column_the_id_is_a_stable_keyed_hash(tmp_path: Path, key_file: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Nom;Courriel\nDupont;jean@orange.fr\nMartin;paul@free.fr\n", "utf-8")
    first = idcheck("sign", source, "--key-file", key_file)
    second = idcheck("sign", source, "--key-file", key_file)
    assert first.code == 0, first.stderr
    assert first.stdout == second.stdout
    ids = [json.loads(line)["external_id"] for line in first.stdout.splitlines()]
    assert len(set(ids)) == 2
    for external_id in ids:
        assert "dupont" not in external_id
        assert "orange" not in external_id
        assert len(external_id) == 33


def test_skipped_and_invalid_rows_are_counted_and_written_to_rejects(
    tmp_path: Path, key_file: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "Nom;Prénom;Courriel;Téléphone;Date de naissance\n"
        "Dupont;Jean;jean@orange.fr;12;\n"  # phone invalid, row still signed
        "Martin;Paul;pas un courriel;;\n"  # nothing signable: skipped
        ";;;;\n"  # empty row: skipped
        "Durand;Marie;;06 12 34 56 78;31/02/1990\n",
        encoding="utf-8",
    )
    output, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.csv"
    run = idcheck("sign", source, "--key-file", key_file, "-o", output, "--rejects", rejects)
    assert run.code == 0, run.stderr
    assert len(_read_ndjson(output)) == 2
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["action"], r["fields"]) for r in rows] == [
        ("2", "signed", "phone"),
        ("3", "skipped", "email"),
        ("4", "skipped", ""),
        ("5", "signed", "birth_date"),
    ]
    assert "calendar" in rows[3]["reason"]
    assert "no kind can be signed" in rows[2]["reason"]
    summary = " ".join(run.stderr.split())
    assert "rows skipped (no kind signable) │ 2" in summary
    assert "invalid phone │ 1" in summary


def test_a_bad_update_date_rejects_the_row(tmp_path: Path, key_file: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id;Nom;Courriel;maj\n1;Dupont;jean@orange.fr;2999-01-01\n", "utf-8")
    run = idcheck(
        "sign", source, "--key-file", key_file, "--id-column", "id", "--updated-column", "maj"
    )
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    assert "rows rejected (bad id or date) │ 1" in " ".join(run.stderr.split())


def _bad_input_cases(tmp_path: Path) -> list[tuple[list[str | Path], str]]:
    header = ";".join(HEADER.values())
    cases: list[tuple[str, bytes, list[str], str]] = [
        ("utf16.csv", (header + "\nx\n").encode("utf-16"), [], "unreadable encoding"),
        ("empty.csv", b"", [], "empty file"),
        ("blank.csv", b"\n\n  \n", [], "empty file"),
        ("ragged.csv", b"Nom;Courriel\nDupont;a@b.fr\nMartin;c@d.fr;extra\n", [], "line 3:"),
        ("nomap.csv", b"Nom;Courriel\nDupont;a@b.fr\n", ["--map", "phone=Portable"], "Portable"),
        ("badmap.csv", b"Nom;Courriel\nDupont;a@b.fr\n", ["--map", "phone"], "field=Column"),
        ("nocol.csv", b"Nom;Courriel\nDupont;a@b.fr\n", ["--id-column", "Ref"], "'Ref'"),
        ("unknown.csv", b"Foo;Bar\n1;2\n", [], "no column recognised"),
        ("twophones.csv", b"Nom;T\xc3\xa9l\xc3\xa9phone;Portable\nA;1;2\n", [], "--map phone="),
        # Starts as UTF-8, then a cp1252 byte far beyond the sniffed head.
        (
            "late.csv",
            b"Nom;Courriel\n" + b"Dupont;a@b.fr\n" * 6000 + b"Dupr\xe9;c@d.fr\n",
            [],
            "line 6002: bytes that are not utf-8",
        ),
        ("oneline.csv", b"Nom;Courriel\nDupont;" + b"a" * 2_000_000, [], "line 2: longer than"),
        ("bigcell.csv", b"Nom;Courriel\nDupont;" + b"a" * 70000 + b"\n", [], "line 2:"),
    ]
    out: list[tuple[list[str | Path], str]] = []
    for name, content, extra, message in cases:
        path = tmp_path / name
        path.write_bytes(content)
        out.append(([path, *extra], message))
    return out


def test_bad_input_gets_one_line_a_non_zero_exit_and_no_output(
    tmp_path: Path, key_file: Path
) -> None:
    for args, message in _bad_input_cases(tmp_path):
        output, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.csv"
        run = idcheck("sign", *args, "--key-file", key_file, "-o", output, "--rejects", rejects)
        assert run.code != 0, args
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, run.stderr
        assert run.stderr.strip().endswith(errors[0]), run.stderr
        assert message in errors[0], (args, errors[0])
        _no_leftovers(tmp_path, "out.ndjson", "rejects.csv")


@pytest.mark.parametrize(
    "content",
    [b"", b"1234", b"zz" * 32, b"0" * 63, b"0" * 66, b'{"version": 1}', b"\xff" * 64],
)
def test_a_key_file_that_is_not_64_hex_characters_is_refused(
    tmp_path: Path, content: bytes
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Nom;Courriel\nDupont;a@b.fr\n", "utf-8")
    key = tmp_path / "bad.key"
    key.write_bytes(content)
    run = idcheck("sign", source, "--key-file", key, "-o", tmp_path / "out.ndjson")
    assert run.code == 1
    assert run.stderr.strip() == (
        f"Error: key file {key}: expected 64 hex characters (the key of GET /v1/signing-key)"
    )
    _no_leftovers(tmp_path, "out.ndjson")


def test_the_json_of_get_signing_key_is_a_key_file(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Nom;Courriel\nDupont;jean@orange.fr\n", "utf-8")
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"version": 4, "key": KEY_HEX, "algorithm": "HMAC-SHA256-128"}))
    run = idcheck("sign", source, "--key-file", key)
    assert run.code == 0, run.stderr
    line = json.loads(run.stdout)
    assert line["key_version"] == 4
    assert (
        line["signatures"]
        == sign_record({"email": "jean@orange.fr", "last_name": "Dupont"}, KEY).signatures
    )


def test_the_output_never_overwrites_the_input(tmp_path: Path, key_file: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Nom;Courriel\nDupont;a@b.fr\n", "utf-8")
    run = idcheck("sign", source, "--key-file", key_file, "-o", source)
    assert run.code == 1
    assert "would overwrite the input" in run.stderr
    assert source.read_text("utf-8") == "Nom;Courriel\nDupont;a@b.fr\n"


def test_worker_processes_give_the_same_file_in_the_same_order(
    tmp_path: Path, key_file: Path
) -> None:
    source = tmp_path / "big.csv"
    write_csv(source, people(3000, seed=3))
    outputs = []
    for jobs in ("1", "2"):
        output, rejects = tmp_path / f"out{jobs}.ndjson", tmp_path / f"rejects{jobs}.csv"
        run = idcheck(
            "sign", source, "--key-file", key_file, "-o", output, "--rejects", rejects,
            "--jobs", jobs, "--id-column", "Référence",
        )  # fmt: skip
        assert run.code == 0, run.stderr
        outputs.append((output.read_bytes(), rejects.read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count(b"\n") > 2900
