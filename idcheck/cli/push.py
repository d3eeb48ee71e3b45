"""`idcheck push`: sign a customer CSV locally and upload the signatures, in one streaming pass.

Only signatures leave the machine. The file goes up in chunks. Each push has a run id, kept in a
journal in the state folder with the chunks the server acknowledged; a chunk's Idempotency-Key is
made of the run id, the chunk's number and a digest of its content. So a chunk sent again within
the run (a retry, or a push resumed with `--resume` after a crash) is replayed by the server,
never applied twice, and `--resume` skips the acknowledged chunks without sending them at all;
a new push of the same file is a new run and applies again (say, after records were deleted).
"""

import hashlib
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from contextlib import closing
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from idcheck.cli.errors import CliError
from idcheck.cli.files import atomic_text_file
from idcheck.cli.remote import Remote
from idcheck.cli.remote import api_errors
from idcheck.cli.remote import remote_options
from idcheck.cli.remote import resolve
from idcheck.cli.remote import state_dir
from idcheck.cli.sign import Layout
from idcheck.cli.sign import Rejects
from idcheck.cli.sign import add_invalid_rows
from idcheck.cli.sign import open_signing
from idcheck.cli.sign import progress_bar
from idcheck.cli.sign import rejects_option
from idcheck.cli.sign import signing_options
from idcheck.cli.signing import current_signer
from idcheck.cli.signing import sign_rows
from idcheck.client import Client
from signatures.dates import today

MAX_CHUNK = 100_000


@dataclass
class Journal:
    """What a push of one file into one dataset has had acknowledged, chunk by chunk."""

    path: Path
    identity: dict[str, Any]
    run: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The date given to rows without an updated column: the run's first day, kept so that a
    # push resumed on a later day signs the same lines (and skips the acknowledged chunks).
    default_updated: str = field(default_factory=lambda: today().isoformat())
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(
        cls, input_path: Path, dataset: str, chunk_records: int, resume: bool, *, key_version: int
    ) -> "Journal":
        source = input_path.resolve()
        facts = source.stat()
        identity = {
            "input": str(source),
            "dataset": dataset,
            "size": facts.st_size,
            "mtime_ns": facts.st_mtime_ns,
            "chunk_records": chunk_records,
            # A push under a new key version (after a rotation) is another push: its chunks
            # differ, and a resume of the old one must not mix the two.
            "key_version": key_version,
        }
        name = hashlib.sha256(f"{source}\0{dataset}".encode()).hexdigest()[:20]
        journal = cls(state_dir() / f"push-{name}.json", identity)
        if resume:
            try:
                saved = json.loads(journal.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                saved = None  # the push stopped before it began: resuming is starting
            except (OSError, ValueError) as exc:
                raise CliError(f"journal {journal.path}: unreadable ({exc})") from None
            if saved is not None:
                if saved.get("identity") != identity:
                    raise CliError(
                        f"{input_path}, --chunk-size or the server's key version changed since "
                        "the interrupted push: push it again without --resume"
                    )
                journal.run = str(saved["run"])
                journal.default_updated = str(saved.get("default_updated", journal.default_updated))
                journal.acknowledged = dict(saved.get("acknowledged", {}))
        journal.save()  # before the first chunk leaves: a resume always finds this run
        return journal

    def key(self, number: int, digest: str) -> str:
        return f"push-{self.run}-{number}-{digest}"

    def done(self, number: int, digest: str) -> dict[str, Any] | None:
        entry = self.acknowledged.get(str(number))
        return entry if entry is not None and entry.get("digest") == digest else None

    def acknowledge(self, number: int, digest: str, upserted: int) -> None:
        self.acknowledged[str(number)] = {"digest": digest, "upserted": upserted}
        self.save()

    def save(self) -> None:
        """Atomically: a crash leaves the old journal or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = {
            "identity": self.identity,
            "run": self.run,
            "default_updated": self.default_updated,
            "acknowledged": self.acknowledged,
        }
        fd, temporary = tempfile.mkstemp(prefix=".push.", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temporary, self.path)

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class PushSummary:
    rows: int = 0
    signed: int = 0
    skipped: int = 0
    rejected: int = 0
    duplicates: int = 0  # a later row of the same chunk had the same external_id
    chunks_sent: int = 0
    chunks_resumed: int = 0
    upserted: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)  # values found invalid, by field
    seconds: float = 0.0


class Uploader:
    """Chunks of upload lines (the last row of an external_id wins), sent or skipped."""

    def __init__(
        self, client: Client, dataset: str, journal: Journal, summary: PushSummary
    ) -> None:
        self.client, self.dataset, self.journal, self.summary = client, dataset, journal, summary
        self.lines: dict[str, str] = {}
        self.number = 0

    def add(self, external_id: str, line: str) -> None:
        if external_id in self.lines:
            self.summary.duplicates += 1
            del self.lines[external_id]  # keep the file's order: the last one goes at the end
        self.lines[external_id] = line

    def flush(self) -> None:
        if not self.lines:
            return
        body = "".join(line + "\n" for line in self.lines.values()).encode()
        self.lines = {}
        digest = hashlib.blake2b(
            f"{self.dataset}\0{self.number}\0".encode() + body, digest_size=16
        ).hexdigest()
        if (entry := self.journal.done(self.number, digest)) is not None:
            self.summary.chunks_resumed += 1
            self.summary.upserted += int(entry["upserted"])
        else:
            with api_errors():
                key = self.journal.key(self.number, digest)
                result = self.client.upload_records(self.dataset, body, idempotency_key=key)
            self.journal.acknowledge(self.number, digest, result.upserted)
            self.summary.chunks_sent += 1
            self.summary.upserted += result.upserted
        self.number += 1


def _print_summary(
    console: Console, summary: PushSummary, dataset: str, rejects: Path | None
) -> None:
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    table = Table(title=f"idcheck push → dataset {dataset}", show_header=False)
    table.add_row("rows read", f"{summary.rows:,}")
    table.add_row("rows signed", f"{summary.signed:,}")
    table.add_row("rows skipped (no kind signable)", f"{summary.skipped:,}")
    table.add_row("rows rejected (bad id or date)", f"{summary.rejected:,}")
    table.add_row("repeated ids (the last row kept)", f"{summary.duplicates:,}")
    for kind, count in sorted(summary.by_kind.items()):
        table.add_row(f"signatures {kind}", f"{count:,}")
    add_invalid_rows(table, summary.invalid)
    table.add_row("chunks sent", f"{summary.chunks_sent:,}")
    table.add_row("chunks already acknowledged (--resume)", f"{summary.chunks_resumed:,}")
    table.add_row("records upserted by the server", f"{summary.upserted:,}")
    table.add_row("time", f"{summary.seconds:.1f} s ({rate:,.0f} rows/s)")
    console.print(table)
    if (summary.skipped or summary.rejected or summary.invalid) and rejects is None:
        console.print("--rejects FILE lists the rows left out and the invalid values, and why.")


@click.command("push")
@click.argument("input_path", metavar="INPUT.csv", type=click.Path(path_type=Path))
@click.option("--dataset", required=True, help="The dataset's id (POST /v1/datasets).")
@click.option(
    "--chunk-size",
    type=click.IntRange(1, MAX_CHUNK),
    default=10_000,
    show_default=True,
    help="Records per upload request.",
)
@click.option("--resume", is_flag=True, help="Skip the chunks an interrupted push had sent.")
@signing_options
@rejects_option
@remote_options
def push_command(
    input_path: Path,
    dataset: str,
    chunk_size: int,
    resume: bool,
    layout: Layout,
    rejects: Path | None,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Sign INPUT.csv here (with the server's signing key, or blind in blind mode) and upload
    only the signatures."""
    if rejects is not None and rejects.resolve() == input_path.resolve():
        raise CliError(f"{rejects}: would overwrite the input file")
    remote = resolve(url, api_key, profile)
    try:
        push(
            input_path,
            dataset,
            remote,
            chunk_size=chunk_size,
            resume=resume,
            layout=layout,
            rejects=rejects,
        )
    except KeyboardInterrupt:
        raise CliError("interrupted: the same command with --resume goes on from here") from None


def push(
    input_path: Path,
    dataset: str,
    remote: Remote,
    *,
    chunk_size: int = 10_000,
    resume: bool = False,
    layout: Layout | None = None,
    console: Console | None = None,
    rejects: Path | None = None,
) -> PushSummary:
    console = console or Console(stderr=True)
    summary = PushSummary()
    signer = current_signer(remote)
    with remote.client() as client:
        with api_errors():
            client.get_dataset(dataset)
        journal = Journal.open(
            input_path, dataset, chunk_size, resume, key_version=signer.key_version
        )
        if resume and not journal.acknowledged:
            console.print(
                f"nothing to resume: no interrupted push of {input_path} into this dataset "
                "acknowledged a chunk; pushing the whole file",
                highlight=False,
            )
        signing = open_signing(
            input_path,
            signer,
            layout=layout or Layout(),
            default_updated=journal.default_updated,
            console=console,
        )
        uploader = Uploader(client, dataset, journal, summary)
        started = time.perf_counter()
        with (
            closing(signing.source),
            atomic_text_file(rejects) if rejects is not None else nullcontext(None) as listed,
            progress_bar(console) as progress,
        ):
            noted = Rejects(listed)
            task = progress.add_task("pushing", total=signing.source.size or None)
            for chunk in sign_rows(signing.job, signing.source.rows(), signing.jobs):
                summary.rows += chunk.rows
                summary.signed += len(chunk.signed)
                summary.by_kind.update(chunk.by_kind)
                summary.invalid.update(chunk.invalid)
                for external_id, line in chunk.signed:
                    uploader.add(external_id, line)
                    if len(uploader.lines) >= chunk_size:
                        uploader.flush()
                        progress.update(task, completed=signing.source.bytes_read())
                counted = noted.note(chunk.notes)
                summary.skipped += counted["skipped"]
                summary.rejected += counted["rejected"]
            uploader.flush()
        summary.seconds = time.perf_counter() - started
    journal.finish()
    _print_summary(console, summary, dataset, rejects)
    return summary
