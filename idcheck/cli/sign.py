"""`idcheck sign`: a holder's CSV in, signatures in the upload format out, on its own machine."""

import csv
import functools
import os
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from contextlib import ExitStack
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Final
from typing import ParamSpec
from typing import TextIO
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import Progress
from rich.progress import TaskProgressColumn
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn
from rich.table import Table

from idcheck.cli.csv_input import CsvFile
from idcheck.cli.csv_input import map_columns
from idcheck.cli.csv_input import open_csv
from idcheck.cli.errors import CliError
from idcheck.cli.files import FILE_PATH
from idcheck.cli.files import atomic_text_file
from idcheck.cli.keyfile import read_key_file
from idcheck.cli.remote import remote_options
from idcheck.cli.remote import resolve
from idcheck.cli.signing import HmacSigner
from idcheck.cli.signing import Outcome
from idcheck.cli.signing import Signer
from idcheck.cli.signing import SignJob
from idcheck.cli.signing import current_signer
from idcheck.cli.signing import sign_rows
from signatures import FIELDS
from signatures import KINDS
from signatures import check_default_country
from signatures.dates import today

P = ParamSpec("P")
R = TypeVar("R")
SMALL_FILE: Final = 1 << 20  # below a megabyte, starting worker processes costs more than it saves


@dataclass
class Summary:
    rows: int = 0
    signed: int = 0
    skipped: int = 0  # no kind could be signed
    rejected: int = 0  # a bad id or update date
    by_kind: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class Rejects:
    """The --rejects file: line number, what happened to the row, and why."""

    def __init__(self, handle: TextIO | None) -> None:
        self._writer = csv.writer(handle) if handle is not None else None
        if self._writer is not None:
            self._writer.writerow(["line", "action", "fields", "reason"])

    def note(self, outcomes: Iterable[Outcome]) -> Counter[str]:
        """A chunk's rows left out (and rows signed with invalid fields), each a line with its
        reason; their counts by action (skipped, rejected, signed)."""
        counted: Counter[str] = Counter()
        for outcome in outcomes:
            counted[outcome.action] += 1
            if self._writer is not None:
                fields = outcome.invalid if outcome.action != "rejected" else ()
                self._writer.writerow([outcome.line, outcome.action, " ".join(fields),
                                       outcome.reason])  # fmt: skip
        return counted


def rejects_option(command: Callable[P, R]) -> Callable[P, R]:
    """--rejects FILE, for sign and push."""
    return click.option(
        "--rejects",
        type=FILE_PATH,
        help="CSV of the rows skipped or rejected, and fields found invalid, with reasons.",
    )(command)


def sign_csv(
    source: CsvFile,
    job: SignJob,
    out: TextIO,
    rejects: Rejects,
    *,
    jobs: int,
    progress: Progress,
) -> Summary:
    summary = Summary()
    started = time.perf_counter()
    task = progress.add_task("signing", total=source.size or None)
    for chunk in sign_rows(job, source.rows(), jobs):
        summary.rows += chunk.rows
        progress.update(task, completed=source.bytes_read())
        summary.invalid.update(chunk.invalid)
        out.write("".join(line + "\n" for _, line in chunk.signed))
        summary.signed += len(chunk.signed)
        summary.by_kind.update(chunk.by_kind)
        counted = rejects.note(chunk.notes)
        summary.skipped += counted["skipped"]
        summary.rejected += counted["rejected"]
    progress.update(task, completed=source.size)
    summary.seconds = time.perf_counter() - started
    return summary


def parse_mappings(mappings: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for mapping in mappings:
        name, separator, column = mapping.partition("=")
        if not separator or not name.strip() or not column.strip():
            raise CliError(f"--map {mapping}: write field=Column, e.g. --map email=Courriel")
        parsed[name.strip()] = column
    return parsed


def _print_summary(console: Console, summary: Summary, output: Path | None) -> None:
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    table = Table(title="idcheck sign", show_header=False)
    table.add_row("rows read", f"{summary.rows:,}")
    table.add_row("rows signed", f"{summary.signed:,}")
    table.add_row("rows skipped (no kind signable)", f"{summary.skipped:,}")
    table.add_row("rows rejected (bad id or date)", f"{summary.rejected:,}")
    for kind in KINDS:
        table.add_row(f"signatures {kind}", f"{summary.by_kind[kind]:,}")
    add_invalid_rows(table, summary.invalid)
    table.add_row("time", f"{summary.seconds:.1f} s ({rate:,.0f} rows/s)")
    table.add_row("output", str(output) if output else "stdout")
    console.print(table)


def add_invalid_rows(table: Table, invalid: Counter[str]) -> None:
    """The summary's lines of invalid values, by field (sign and push)."""
    for name in FIELDS:
        if invalid[name]:
            table.add_row(f"invalid {name}", f"{invalid[name]:,}")


@dataclass(frozen=True)
class Layout:
    """How to read and sign a customer CSV: the options sign and push share."""

    mappings: tuple[str, ...] = ()  # field=Column overrides
    id_column: str | None = None
    updated_column: str | None = None
    default_country: str = "FR"
    jobs: int = 0  # signing processes; 0: one per CPU (one for files under 1 MB)
    close_forms: bool = True  # sign the close forms of names too (spec section 8)


#: How to read a CSV whose header does not name a field plainly (sign, push and verify).
map_option = click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="field=Column",
    help="Read a field from a column the header does not name plainly.",
)
#: The country of rows that name none (sign, push and verify).
default_country_option = click.option(
    "--default-country", default="FR", show_default=True, help="Country of rows that name none."
)


#: Whether to sign the close forms of names (sign, push and verify --local-sign).
close_forms_option = click.option(
    "--close-forms/--no-close-forms",
    default=True,
    show_default=True,
    help="Sign the close forms of names too, so that name checks can be close (a letter off, a "
    "spelling, a particle, names swapped): about 42 signatures a record beside 6, which the "
    "server stores (holders) and, in blind mode, evaluates one by one.",
)


def signing_options(command: Callable[..., R]) -> Callable[..., R]:
    """The options that say how to read and sign a customer CSV, given to the command as one
    ``layout`` (a Layout)."""

    @functools.wraps(command)
    def with_layout(
        *args: Any,
        mappings: tuple[str, ...],
        id_column: str | None,
        updated_column: str | None,
        default_country: str,
        jobs: int,
        close_forms: bool,
        **kwargs: Any,
    ) -> R:
        layout = Layout(mappings, id_column, updated_column, default_country, jobs, close_forms)
        return command(*args, layout=layout, **kwargs)

    for option in reversed(
        [
            map_option,
            click.option(
                "--id-column", help="The column of your own record id (default: a keyed hash)."
            ),
            click.option(
                "--updated-column", help="The column of the date each record was last updated."
            ),
            default_country_option,
            click.option(
                "--jobs",
                type=click.IntRange(min=0),
                default=0,
                help="Processes that sign (default 0: one per CPU; one for files under 1 MB).",
            ),
            close_forms_option,
        ]
    ):
        with_layout = option(with_layout)
    return with_layout


@dataclass(frozen=True)
class SigningInput:
    """An open customer file and the job that signs its rows."""

    source: CsvFile
    job: SignJob
    jobs: int


def open_signing(
    input_path: Path,
    signer: Signer,
    *,
    layout: Layout,
    console: Console,
    default_updated: str | None = None,
) -> SigningInput:
    """Open the CSV, recognise its columns (said on the console) and make the signing job.

    ``default_updated`` (ISO date, default today) is the date of rows without an updated column.

    The caller closes ``source``.
    """
    try:
        default = check_default_country(layout.default_country)
    except ValueError as exc:
        raise CliError(f"--default-country: {exc}") from None
    overrides = parse_mappings(layout.mappings)
    source = open_csv(input_path)
    try:
        columns = map_columns(
            source.header,
            overrides,
            id_column=layout.id_column,
            updated_column=layout.updated_column,
        )
    except BaseException:
        source.close()
        raise
    console.print(
        f"reading {input_path} ({source.label}, {source.separator!r}): {columns.describe()}; "
        f"signing with key version {signer.key_version} ({signer.scheme})",
        highlight=False,
        soft_wrap=True,
    )
    job = SignJob(
        signer=signer,
        default_country=default,
        default_updated=default_updated or today().isoformat(),
        columns=columns,
        close_forms=layout.close_forms,
    )
    jobs = layout.jobs or (1 if source.size < SMALL_FILE else (os.cpu_count() or 1))
    return SigningInput(source, job, jobs)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@click.command("sign")
@click.argument("input_path", metavar="INPUT.csv", type=click.Path(path_type=Path))
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    help="Sign offline with this HMAC key: 64 hex characters, or the JSON of GET "
    "/v1/signing-key. Without it, the server's current version is used: its key (HMAC), or "
    "blind evaluation (blind mode, where no key is handed out).",
)
@click.option(
    "--key-version",
    type=click.IntRange(min=1),
    help="The key's version (default: from a JSON key file, else 1).",
)
@click.option(
    "-o",
    "--output",
    type=FILE_PATH,
    help="NDJSON file to write, whole or not at all (default: stdout).",
)
@signing_options
@rejects_option
@remote_options
def sign_command(
    input_path: Path,
    key_file: Path | None,
    key_version: int | None,
    output: Path | None,
    layout: Layout,
    rejects: Path | None,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Sign a customer CSV file locally: only signatures come out, one record a line."""
    for target in (output, rejects):
        if target is not None and target.resolve() == input_path.resolve():
            raise CliError(f"{target}: would overwrite the input file")
    signer: Signer
    if key_file is not None:
        signing_key = read_key_file(key_file)
        signer = HmacSigner(signing_key.key, key_version or signing_key.version or 1)
    elif key_version is not None:
        raise CliError("--key-version goes with --key-file; the server says its current version")
    else:
        signer = current_signer(resolve(url, api_key, profile))
    console = Console(stderr=True)
    with ExitStack() as stack:
        signing = open_signing(input_path, signer, layout=layout, console=console)
        stack.callback(signing.source.close)
        out = stack.enter_context(atomic_text_file(output))
        rejects_file = stack.enter_context(
            atomic_text_file(rejects) if rejects is not None else nullcontext(None)
        )
        progress = stack.enter_context(progress_bar(console))
        summary = sign_csv(
            signing.source,
            signing.job,
            out,
            Rejects(rejects_file),
            jobs=signing.jobs,
            progress=progress,
        )
    _print_summary(console, summary, output)
