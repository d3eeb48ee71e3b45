"""`idcheck verify`: a buyer's prospect file in, the same file with verdicts out.

Rows go in requests of 1,000 (the server's limit), several in flight, and come out in the file's
order. With `--local-sign` the rows are normalised and signed here, under every live key
version (with its key for an HMAC version, blind through the server for an OPRF one), and only
signatures are sent (/v1/verify/signed); without it the server normalises them (/v1/verify).
Both give the same verdicts for the same file.
"""

import asyncio
import csv
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from typing import Final
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table

from idcheck.cli.csv_input import CsvFile
from idcheck.cli.csv_input import map_columns
from idcheck.cli.csv_input import open_csv
from idcheck.cli.errors import CliError
from idcheck.cli.files import FILE_PATH
from idcheck.cli.remote import Remote
from idcheck.cli.remote import api_errors
from idcheck.cli.remote import remote_options
from idcheck.cli.remote import resolve
from idcheck.cli.sign import default_country_option
from idcheck.cli.sign import map_option
from idcheck.cli.sign import parse_mappings
from idcheck.cli.sign import progress_bar
from idcheck.cli.signing import HmacSigner
from idcheck.client import AsyncClient
from idcheck.client import IdcheckError
from idcheck.client import async_sign_fields_blind
from schemas.verify import MAX_OTHER_VERSIONS
from schemas.verify import Check
from schemas.verify import Result
from schemas.verify import VerifyResponse
from schemas.vocabulary import Level
from schemas.vocabulary import Verdict
from signatures import FIELDS
from signatures import KINDS
from signatures import NormalizedRecord
from signatures import Scheme
from signatures import SignedRecord
from signatures import check_default_country
from signatures import normalize_record

MAX_VALUE = 256  # docs/api.md: a raw value is at most 256 characters
COLUMNS = ["idcheck_verdict", *(f"idcheck_{kind}" for kind in KINDS)]
COLUMNS += ["idcheck_last_seen", "idcheck_invalid"]
# A refused batch between answered ones (requests run concurrently): kept so that the file
# stays row for row with the input, and said plainly.
NOT_ANSWERED = ["error", *("" for _ in COLUMNS[1:])]


@dataclass(frozen=True)
class Row:
    cells: list[str]
    record: dict[str, str]  # field -> value, empty cells left out
    too_long: tuple[str, ...]  # fields over MAX_VALUE: invalid, never sent


@dataclass(frozen=True)
class LocalSigning:
    """What --local-sign signs with: every live key version, newest (current) first, so that
    records not yet re-pushed under the current version still match. HMAC versions with their
    keys, here; OPRF versions (blind mode) through the server's blind evaluation."""

    versions: tuple[int, ...]
    keys: dict[int, bytes]  # the HMAC versions' keys

    @classmethod
    async def of(cls, client: AsyncClient) -> "LocalSigning":
        current = await client.get_current_key_version()
        live = sorted((info.version for info in current.live), reverse=True)
        if len(live) > 1 + MAX_OTHER_VERSIONS:
            click.echo(
                f"{len(live)} key versions are live: signing with the newest "
                f"{1 + MAX_OTHER_VERSIONS} (an admin retires the old ones)",
                err=True,
            )
            live = live[: 1 + MAX_OTHER_VERSIONS]
        keys = {}
        if any(info.scheme is Scheme.HMAC for info in current.live):
            answer = await client.list_signing_keys()
            keys = {key.version: bytes.fromhex(key.key) for key in answer.keys}
        return cls(tuple(live), keys)

    async def sign(
        self, client: AsyncClient, rows: list[Row], default_country: str
    ) -> tuple[list[dict[str, Any]], list[set[str]]]:
        """The signed records to send, and each one's invalid fields, from one normalisation."""
        normalized = await asyncio.to_thread(_normalize, rows, default_country)
        fields, names = [one.fields for one in normalized], [one.names for one in normalized]
        signed: list[list[dict[str, str]]] = []
        for version in self.versions:
            if version in self.keys:
                signer = HmacSigner(self.keys[version], version)
                signed.append(await asyncio.to_thread(signer.sign, normalized))
            else:
                signed.append(await async_sign_fields_blind(client, version, fields, names))
        records = []
        for index, one in enumerate(normalized):
            first = SignedRecord.of(signed[0][index], one).upload()
            record: dict[str, Any] = {"key_version": self.versions[0], **first}
            others = [
                {"key_version": version, **SignedRecord.of(signatures[index], one).upload()}
                for version, signatures in zip(self.versions[1:], signed[1:], strict=True)
                if signatures[index]
            ]
            if others:
                record["other_versions"] = others
            records.append(record)
        return records, [set(one.invalid) for one in normalized]


def _normalize(rows: list[Row], default_country: str) -> list[NormalizedRecord]:
    return [normalize_record(row.record, default_country=default_country) for row in rows]


#: idcheck_invalid of a row with no value in any recognised column.
NOTHING_TO_CHECK: Final = "(empty: no value to check)"
#: What --output-encoding may choose: the input's (default), or one of these.
ENCODINGS: Final = {"utf-8": "utf-8", "utf-8-bom": "utf-8-sig", "cp1252": "cp1252"}
DELIMITERS: Final = {"semicolon": ";", "comma": ",", "tab": "\t"}


def read_rows(source: CsvFile, fields: dict[str, int]) -> Iterator[Row]:
    for _, cells in source.rows():
        record, too_long = {}, []
        for name, index in fields.items():
            value = cells[index].strip() if index < len(cells) else ""
            if len(value) > MAX_VALUE:
                too_long.append(name)
            elif value:
                record[name] = value
        yield Row(cells, record, tuple(too_long))


#: A check's column: matched as written, the names written another way (pair kinds), or not.
_CELLS: Final = {Level.EXACT: "yes", Level.CLOSE: "close", Level.NONE: "no"}


def result_cells(result: Result, extra_invalid: set[str]) -> list[str]:
    cells: list[str] = [result.verdict]
    checks: dict[str, Check] = {str(kind): check for kind, check in result.checks.items()}
    for kind in KINDS:
        check = checks.get(kind)
        cells.append("" if check is None else _CELLS[check.level])
    seen = [c.last_seen for c in result.checks.values() if c.match and c.last_seen]
    cells.append(max(seen).isoformat() if seen else "")
    invalid = set(result.invalid) | extra_invalid
    if result.verdict == Verdict.INVALID and not invalid:
        cells.append(NOTHING_TO_CHECK)  # a blank row, or one whose columns are all empty
    else:
        cells.append(" ".join(name for name in FIELDS if name in invalid))
    return cells


@dataclass
class VerifySummary:
    rows: int = 0
    billable: int = 0
    matched: int = 0
    not_answered: int = 0  # rows written with the verdict "error"
    verdicts: dict[str, int] | None = None
    error: str | None = None


async def _run(
    rows: Iterator[Row],
    remote: Remote,
    out: TextIO,
    header: list[str],
    *,
    purpose: str,
    default_country: str,
    local_sign: bool,
    batch: int,
    concurrency: int,
    on_batch: Any,
    delimiter: str,
) -> VerifySummary:
    summary = VerifySummary(verdicts=dict.fromkeys(list(Verdict), 0))
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([*header, *COLUMNS])
    async with remote.async_client(max_connections=concurrency) as client:
        local = await LocalSigning.of(client) if local_sign else None

        async def send(chunk: list[Row]) -> tuple[VerifyResponse, list[set[str]]]:
            if local is None:
                records = [row.record for row in chunk]
                response = await client.verify(records, purpose, default_country=default_country)
                return response, [set() for _ in chunk]
            signed, invalid = await local.sign(client, chunk, default_country)
            return await client.verify_signed(signed, purpose), invalid

        pending: deque[tuple[list[Row], asyncio.Task[Any]]] = deque()
        unanswered: list[list[Row]] = []  # refused batches, written once a later one is answered

        async def write_oldest() -> None:
            chunk, task = pending.popleft()
            try:
                response, invalid = await task
            except IdcheckError as exc:
                summary.error = summary.error or str(exc)
                unanswered.append(chunk)
                return
            for gap in unanswered:
                for row in gap:
                    writer.writerow([*row.cells, *NOT_ANSWERED])
                summary.rows += len(gap)
                summary.not_answered += len(gap)
            unanswered.clear()
            for row, result, extra in zip(chunk, response.results, invalid, strict=True):
                writer.writerow([*row.cells, *result_cells(result, extra | set(row.too_long))])
                assert summary.verdicts is not None
                summary.verdicts[result.verdict] += 1
            summary.rows += len(chunk)
            summary.billable += response.usage.billable_records
            summary.matched += response.usage.matched_records
            on_batch(summary.rows)

        # After a refusal nothing new is sent, but the requests already in flight are awaited:
        # the server may have answered (and billed) them, and their answers belong in the file.
        while summary.error is None and (chunk := list(islice(rows, batch))):
            pending.append((chunk, asyncio.create_task(send(chunk))))
            if len(pending) >= concurrency:
                await write_oldest()
        while pending:
            await write_oldest()
    return summary


def verify_file(
    input_path: Path,
    output: Path,
    remote: Remote,
    *,
    purpose: str,
    local_sign: bool = False,
    default_country: str = "FR",
    mappings: tuple[str, ...] = (),
    batch: int = 1000,
    concurrency: int = 4,
    console: Console | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> VerifySummary:
    """Verify INPUT into OUTPUT. On a server error midway, nothing more is sent, the requests in
    flight are awaited, and OUTPUT keeps every row answered (they were billed), up to the last
    answered one; a refused batch before it is written with the verdict ``error``. The error is
    raised after the file is written. OUTPUT is written with the input's delimiter and encoding
    (a UTF-8 input with a BOM gets one too), unless ``delimiter`` or ``encoding`` say otherwise.
    """
    console = console or Console(stderr=True)
    if output.resolve() == input_path.resolve():
        raise CliError(f"{output}: would overwrite the input file")
    try:
        default = check_default_country(default_country)
    except ValueError as exc:
        raise CliError(f"--default-country: {exc}") from None
    with closing(open_csv(input_path)) as source:
        columns = map_columns(source.header, parse_mappings(mappings))
        console.print(
            f"reading {input_path}: {columns.describe()}", highlight=False, soft_wrap=True
        )
        delimiter = delimiter or source.separator
        encoding = encoding or ("utf-8-sig" if source.bom else source.encoding)
        temporary = output.with_name(f".{output.name}.part")
        try:
            with (
                temporary.open("w", encoding=encoding, newline="") as out,
                progress_bar(console) as bar,
            ):
                task = bar.add_task("verifying", total=source.size or None)
                summary = asyncio.run(
                    _run(
                        read_rows(source, columns.fields),
                        remote,
                        out,
                        source.header,
                        purpose=purpose,
                        default_country=default,
                        local_sign=local_sign,
                        batch=batch,
                        concurrency=concurrency,
                        on_batch=lambda _: bar.update(task, completed=source.bytes_read()),
                        delimiter=delimiter,
                    )
                )
            temporary.replace(output)
        except UnicodeEncodeError as exc:
            temporary.unlink(missing_ok=True)
            raise CliError(
                f"{output}: a value cannot be written in {encoding} ({exc.reason}): "
                "use --output-encoding utf-8"
            ) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    _print_summary(console, summary, output)
    if summary.error is not None:
        gap = (
            f"; {summary.not_answered:,} of them refused, idcheck_verdict = error"
            if summary.not_answered
            else ""
        )
        raise CliError(
            f"stopped after {summary.rows:,} rows ({output} holds them{gap}): {summary.error}"
        )
    return summary


def _print_summary(console: Console, summary: VerifySummary, output: Path) -> None:
    table = Table(title="idcheck verify", show_header=False)
    table.add_row("rows verified", f"{summary.rows - summary.not_answered:,}")
    for verdict, count in (summary.verdicts or {}).items():
        table.add_row(f"  {verdict}", f"{count:,}")
    if summary.not_answered:
        table.add_row("rows refused (error)", f"{summary.not_answered:,}")
    table.add_row("billable records", f"{summary.billable:,}")
    table.add_row("output", str(output))
    console.print(table)


@click.command("verify")
@click.argument("input_path", metavar="PROSPECTS.csv", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=FILE_PATH,
    help="CSV to write: the input's columns, then the verdict and one column per check.",
)
@click.option("--purpose", required=True, help="Why you check these people (kept with the usage).")
@click.option("--local-sign", is_flag=True, help="Sign here and send only signatures.")
@default_country_option
@map_option
@click.option("--batch-size", type=click.IntRange(1, 1000), default=1000, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option(
    "--output-delimiter",
    type=click.Choice(list(DELIMITERS)),
    help="The output's separator (default: the input's).",
)
@click.option(
    "--output-encoding",
    type=click.Choice(list(ENCODINGS)),
    help="The output's encoding (default: the input's; utf-8-bom for Excel).",
)
@remote_options
def verify_command(
    input_path: Path,
    output: Path,
    purpose: str,
    local_sign: bool,
    default_country: str,
    mappings: tuple[str, ...],
    batch_size: int,
    concurrency: int,
    output_delimiter: str | None,
    output_encoding: str | None,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Check a prospect file: is each email, phone, name and address genuine and current?"""
    remote = resolve(url, api_key, profile)
    with api_errors():
        verify_file(
            input_path,
            output,
            remote,
            purpose=purpose,
            local_sign=local_sign,
            default_country=default_country,
            mappings=mappings,
            batch=batch_size,
            concurrency=concurrency,
            delimiter=DELIMITERS[output_delimiter] if output_delimiter else None,
            encoding=ENCODINGS[output_encoding] if output_encoding else None,
        )
