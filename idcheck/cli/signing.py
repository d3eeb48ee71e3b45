"""Signing CSV rows, in this process or in a pool of processes, in the file's order.

Normalising is the costly part (phone and email parsing); rows go to worker processes in chunks,
with a bounded number of chunks in flight, so memory stays flat whatever the file's size.
"""

import hashlib
import hmac
import json
import multiprocessing
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Final

from idcheck.cli.csv_input import Columns
from signatures import FIELDS
from signatures import InvalidValue
from signatures import normalize_record
from signatures import sign_fields
from signatures.dates import parse_past_date

MAX_EXTERNAL_ID: Final = 128  # docs/api.md: external_id is at most 128 characters
CHUNK_ROWS: Final = 500


@dataclass(frozen=True)
class SignJob:
    """What every row is signed with; sent once to each worker process."""

    key: bytes
    key_version: int
    default_country: str
    default_updated: str  # YYYY-MM-DD, for files without an update column
    columns: Columns


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row: signed (with its upload line), skipped, or rejected."""

    line: int
    action: str
    upload: str = ""
    kinds: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    reason: str = ""
    external_id: str = ""


def derive_external_id(fields: Mapping[str, str], key: bytes) -> str:
    """A record id for files without one: keyed, so it reveals nothing; stable across runs."""
    message = b"idcheck:v1:external_id" + b"".join(
        b"\x1f" + name.encode("ascii") + b"=" + fields[name].encode("utf-8")
        for name in FIELDS
        if name in fields
    )
    return "h" + hmac.digest(key, message, hashlib.sha256)[:16].hex()


def _reasons(reasons: Mapping[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in reasons.items())


def sign_row(job: SignJob, line: int, row: list[str]) -> Outcome:
    columns = job.columns
    record = {name: row[index] for name, index in columns.fields.items()}
    normalized = normalize_record(record, default_country=job.default_country)
    invalid = tuple(normalized.invalid)
    reason = _reasons(normalized.reasons)
    signatures = sign_fields(normalized.fields, job.key)
    if not signatures:
        present = ", ".join(normalized.fields) or "none"
        why = reason or f"no kind can be signed (valid: {present})"
        return Outcome(line, "skipped", invalid=invalid, reason=why)
    try:
        external_id = _external_id(job, row, normalized.fields)
        updated_at = _updated_at(job, row)
    except InvalidValue as exc:
        return Outcome(line, "rejected", invalid=invalid, reason=str(exc))
    upload = {
        "external_id": external_id,
        "updated_at": updated_at,
        "key_version": job.key_version,
        "signatures": signatures,
    }
    text = json.dumps(upload, ensure_ascii=False, separators=(",", ":"))
    return Outcome(line, "signed", text, tuple(signatures), invalid, reason, external_id)


def _external_id(job: SignJob, row: list[str], fields: Mapping[str, str]) -> str:
    if job.columns.external_id is None:
        return derive_external_id(fields, job.key)
    value = row[job.columns.external_id].strip()
    if not value:
        raise InvalidValue("external id: empty")
    if len(value) > MAX_EXTERNAL_ID:
        raise InvalidValue(f"external id: longer than {MAX_EXTERNAL_ID} characters")
    return value


def _updated_at(job: SignJob, row: list[str]) -> str:
    if job.columns.updated_at is None:
        return job.default_updated
    try:
        return parse_past_date(row[job.columns.updated_at].strip()).isoformat()
    except InvalidValue as exc:
        raise InvalidValue(f"updated_at: {exc}") from None


_worker_job: SignJob | None = None


def _start_worker(job: SignJob) -> None:
    global _worker_job
    _worker_job = job


def _sign_chunk(rows: tuple[tuple[int, list[str]], ...]) -> list[Outcome]:
    assert _worker_job is not None
    return [sign_row(_worker_job, line, row) for line, row in rows]


def sign_rows(job: SignJob, rows: Iterable[tuple[int, list[str]]], jobs: int) -> Iterator[Outcome]:
    """Outcomes in the rows' order; with ``jobs`` > 1, computed by that many processes."""
    if jobs <= 1:
        for line, row in rows:
            yield sign_row(job, line, row)
        return
    context = multiprocessing.get_context("spawn")  # no fork under rich's progress thread
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(job,)
    ) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        iterator = iter(rows)
        while chunk := tuple(islice(iterator, CHUNK_ROWS)):
            pending.append(pool.submit(_sign_chunk, chunk))
            if len(pending) >= 2 * jobs:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
