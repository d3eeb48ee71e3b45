"""The console's verify form: rows pasted or a CSV file, read into a VerifyRequest, and the
results as a table and a CSV file. What is read is never stored, logged or shown again: the
results name each row by its number and its ``ref`` only."""

import base64
import csv
import io
from collections.abc import Sequence
from typing import Final

from app.console.web import validated
from app.errors import InvalidInput
from app.errors import detail
from app.limits import CONSOLE_FILE_BYTES
from matching import Judgement
from schemas.verify import RawRecord
from schemas.verify import VerifyRequest
from signatures import KINDS

PASTED_ROWS: Final = 100
FILE_ROWS: Final = 1_000
MAX_FILE_BYTES: Final = CONSOLE_FILE_BYTES
COLUMNS: Final = tuple(RawRecord.model_fields)


def read_rows(text: str, max_rows: int, source: str) -> list[dict[str, str]]:
    """CSV with a header line naming the columns (any of COLUMNS; others are left out), its
    delimiter found among , ; and tab."""
    lines = text.lstrip("\ufeff")
    if not lines.strip():
        raise InvalidInput(
            f"the {source} is empty: give a header line, then one line a row",
            details=[detail((source,), "empty")],
        )
    first = lines.splitlines()[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(lines), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    known = [name for name in header if name in COLUMNS]
    if not known:
        raise InvalidInput(
            f"the {source}'s header names none of the columns: {', '.join(COLUMNS)}",
            details=[detail((source, 0), "no known column")],
        )
    rows: list[dict[str, str]] = []
    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        if len(rows) == max_rows:
            raise InvalidInput(
                f"at most {max_rows:,} rows in the {source}",
                details=[detail((source, max_rows + 1), f"over the limit of {max_rows:,}")],
            )
        cells = dict(zip(header, line, strict=False))
        rows.append({name: cells[name] for name in known if cells.get(name, "").strip()})
    if not rows:
        raise InvalidInput(
            f"the {source} has a header line but no row",
            details=[detail((source,), "no row")],
        )
    return rows


def decode(data: bytes) -> str:
    """UTF-8 (with or without its mark), else Windows-1252, as spreadsheets write it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def request_of(purpose: str, country: str, rows: list[dict[str, str]]) -> VerifyRequest:
    return validated(
        VerifyRequest, {"purpose": purpose, "default_country": country, "records": rows}
    )


def results_csv(refs: Sequence[str | None], verdicts: Sequence[Judgement]) -> str:
    """One line a row: its number, ref, verdict, each kind's match and sources, invalid fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["row", "ref", "verdict"]
        + [f"{kind}_{part}" for kind in KINDS for part in ("match", "level", "sources")]
        + ["invalid"]
    )
    for number, (ref, verdict) in enumerate(zip(refs, verdicts, strict=True), start=1):
        cells: list[object] = [number, ref or "", verdict.verdict.value]
        for kind in KINDS:
            check = verdict.checks.get(kind)
            cells += ["" if check is None else str(check.match).lower()]
            cells += ["" if check is None else check.level.value]
            cells += ["" if check is None else check.sources]
        writer.writerow([*cells, " ".join(verdict.invalid)])
    return out.getvalue()


def data_url(text: str) -> str:
    """The CSV as a link's target: downloaded from the page, nothing asked of the server again
    (so nothing verified, or billed, twice)."""
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()
