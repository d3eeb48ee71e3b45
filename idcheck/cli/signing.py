"""Signing CSV rows, in this process or in a pool of processes, in the file's order.

Normalising is the costly part (phone and email parsing); rows go to worker processes in chunks,
with a bounded number of chunks in flight, so memory stays flat whatever the file's size.

A key version is HMAC (the key is here: :class:`HmacSigner`) or OPRF (blind mode: no key here;
:class:`BlindSigner` blinds a chunk's messages, has the server evaluate them, one request per
10,000, and unblinds them, in the worker, so that as many requests are in flight as there are
workers, each retried by the SDK).
"""

import hashlib
import hmac
import json
import multiprocessing
from collections import Counter
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from itertools import islice
from typing import ClassVar
from typing import Final

from idcheck.cli.csv_input import Columns
from idcheck.cli.remote import Remote
from idcheck.cli.remote import api_errors
from idcheck.client import Client
from idcheck.client import sign_fields_blind
from signatures import FIELDS
from signatures import KINDS
from signatures import InvalidValue
from signatures import NormalizedRecord
from signatures import Scheme
from signatures import normalize_record
from signatures import sign_fields
from signatures.dates import parse_past_date
from signatures.kinds import split_slots

MAX_EXTERNAL_ID: Final = 128  # docs/api.md: external_id is at most 128 characters
CHUNK_ROWS: Final = 500


@dataclass(frozen=True)
class HmacSigner:
    """Spec v1: HMAC-SHA256-128 with the version's key."""

    scheme: ClassVar[Scheme] = Scheme.HMAC
    key: bytes = field(repr=False)
    key_version: int

    def sign(self, records: Sequence[NormalizedRecord]) -> list[dict[str, str]]:
        return [sign_fields(one.fields, self.key, one.names) for one in records]

    def external_id(self, fields: Mapping[str, str], signatures: Mapping[str, str]) -> str:
        return derive_external_id(fields, self.key)


@dataclass(frozen=True)
class BlindSigner:
    """Blind mode: an OPRF version, evaluated by the server (each process has its own client)."""

    scheme: ClassVar[Scheme] = Scheme.OPRF
    remote: Remote = field(repr=False)
    key_version: int

    def sign(self, records: Sequence[NormalizedRecord]) -> list[dict[str, str]]:
        if self.remote not in _clients:
            _clients[self.remote] = self.remote.client()
        fields, names = [one.fields for one in records], [one.names for one in records]
        with api_errors():
            return sign_fields_blind(_clients[self.remote], self.key_version, fields, names)

    def external_id(self, fields: Mapping[str, str], signatures: Mapping[str, str]) -> str:
        """A record id for files without one, from the record's signatures: with no key here,
        they are what reveals nothing and stays the same across runs (of this version)."""
        message = b"idcheck:v1:external_id:blind" + b"".join(
            b"\x1f" + kind.encode("ascii") + b"=" + signatures[kind].encode("ascii")
            for kind in KINDS
            if kind in signatures
        )
        return "h" + hashlib.sha256(message).digest()[:16].hex()


Signer = HmacSigner | BlindSigner
_clients: dict[Remote, Client] = {}  # a blind signer's client, one per process


def current_signer(remote: Remote) -> Signer:
    """What to sign with now: the current version's key if it is HMAC, else the server (OPRF)."""
    with api_errors(), remote.client() as client:
        current = client.get_current_key_version()
        if current.scheme is Scheme.OPRF:
            return BlindSigner(remote, current.version)
        answer = client.get_signing_key()
    return HmacSigner(bytes.fromhex(answer.key), answer.version)


def _close_clients() -> None:
    while _clients:
        _clients.popitem()[1].close()


@dataclass(frozen=True)
class SignJob:
    """What every row is signed with; sent once to each worker process."""

    signer: Signer
    default_country: str
    default_updated: str  # YYYY-MM-DD, for files without an update column
    columns: Columns
    close_forms: bool = True  # sign the close forms of names (spec section 8)


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


@dataclass(frozen=True, slots=True)
class Chunk:
    """What became of a chunk of rows, as a worker sends it back: the signed rows' record ids
    and upload lines, in the rows' order; counts; and the outcome of each row worth a note
    (skipped, rejected, or signed with invalid fields), in order. Whole chunks cross between
    processes, not one object per row, which would cost the reader more than the signing."""

    rows: int = 0
    signed: list[tuple[str, str]] = field(default_factory=list)  # (external_id, upload line)
    notes: list[Outcome] = field(default_factory=list)
    # Rows by the kinds they were signed with, and by the fields found invalid (a few shapes).
    kind_sets: Counter[tuple[str, ...]] = field(default_factory=Counter)
    invalid_sets: Counter[tuple[str, ...]] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        if outcome.invalid:
            self.invalid_sets[outcome.invalid] += 1
            self.notes.append(outcome)
        if outcome.action == "signed":
            self.signed.append((outcome.external_id, outcome.upload))
            self.kind_sets[outcome.kinds] += 1
        elif not outcome.invalid:
            self.notes.append(outcome)

    @property
    def by_kind(self) -> Counter[str]:
        return _expand(self.kind_sets)

    @property
    def invalid(self) -> Counter[str]:
        return _expand(self.invalid_sets)


def _expand(sets: Counter[tuple[str, ...]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for names, rows in sets.items():
        for name in names:
            counts[name] += rows
    return counts


_ID_HEADS: Final = tuple((name, b"\x1f" + name.encode("ascii") + b"=") for name in FIELDS)


def derive_external_id(fields: Mapping[str, str], key: bytes) -> str:
    """A record id for files without one: keyed, so it reveals nothing; stable across runs."""
    message = b"idcheck:v1:external_id" + b"".join(
        [head + fields[name].encode("utf-8") for name, head in _ID_HEADS if name in fields]
    )
    return "h" + hmac.digest(key, message, hashlib.sha256)[:16].hex()


def _reasons(reasons: Mapping[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in reasons.items())


def sign_chunk(job: SignJob, rows: Sequence[tuple[int, list[str]]]) -> Chunk:
    """What became of rows, signed together (blind mode: in one evaluation request per 10,000)."""
    columns = job.columns
    normalized = [
        normalize_record(
            {name: row[index] for name, index in columns.fields.items()},
            default_country=job.default_country,
        )
        for _, row in rows
    ]
    if not job.close_forms:  # without the names' words, no close form is made
        normalized = [replace(one, names={}) for one in normalized]
    signed = job.signer.sign(normalized)
    chunk = Chunk(rows=len(rows))
    for (line, row), one, signatures in zip(rows, normalized, signed, strict=True):
        chunk.add(_outcome(job, line, row, one, signatures))
    return chunk


def _outcome(
    job: SignJob,
    line: int,
    row: list[str],
    normalized: NormalizedRecord,
    signatures: dict[str, str],
) -> Outcome:
    invalid = tuple(normalized.invalid)
    reason = _reasons(normalized.reasons)
    if not signatures:
        present = ", ".join(normalized.fields) or "none"
        why = reason or f"no kind can be signed (valid: {present})"
        return Outcome(line, "skipped", invalid=invalid, reason=why)
    try:
        external_id = _external_id(job, row, normalized.fields, signatures)
        updated_at = _updated_at(job, row)
    except InvalidValue as exc:
        return Outcome(line, "rejected", invalid=invalid, reason=str(exc))
    text = upload_line(external_id, updated_at, job.signer.key_version, signatures)
    kinds = tuple(kind for kind in signatures if kind in KINDS)
    return Outcome(line, "signed", text, kinds, invalid, reason, external_id)


def upload_line(
    external_id: str, updated_at: str, key_version: int, signed: Mapping[str, str]
) -> str:
    """The record's upload line, compact JSON: what json.dumps(..., ensure_ascii=False,
    separators=(",", ":")) writes, but only the free-text record id goes through the encoder
    (the date is ISO, the version a number, kinds and signatures plain ASCII). ``signed`` is
    by slot: the close forms go under "close", by pair kind, when there are any."""
    signatures, close = split_slots(signed)
    own = ",".join(f'"{kind}":"{signature}"' for kind, signature in signatures.items())
    forms = ",".join(
        f'"{kind}":[{",".join(f"{chr(34)}{one}{chr(34)}" for one in forms)}]'
        for kind, forms in close.items()
    )
    tail = f',"close":{{{forms}}}' if close else ""
    return (
        f'{{"external_id":{json.dumps(external_id, ensure_ascii=False)},'
        f'"updated_at":"{updated_at}","key_version":{key_version},"signatures":{{{own}}}{tail}}}'
    )


def _external_id(
    job: SignJob, row: list[str], fields: Mapping[str, str], signatures: Mapping[str, str]
) -> str:
    if job.columns.external_id is None:
        return job.signer.external_id(fields, signatures)
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


def _sign_chunk(rows: tuple[tuple[int, list[str]], ...]) -> Chunk:
    assert _worker_job is not None
    return sign_chunk(_worker_job, rows)


def sign_rows(job: SignJob, rows: Iterable[tuple[int, list[str]]], jobs: int) -> Iterator[Chunk]:
    """Chunks in the rows' order; with ``jobs`` > 1, computed by that many processes."""
    if jobs <= 1:
        iterator = iter(rows)
        try:
            while chunk := tuple(islice(iterator, CHUNK_ROWS)):
                yield sign_chunk(job, chunk)
        finally:
            _close_clients()
        return
    context = multiprocessing.get_context("spawn")  # no fork under rich's progress thread
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(job,)
    ) as pool:
        pending: deque[Future[Chunk]] = deque()
        iterator = iter(rows)
        while chunk := tuple(islice(iterator, CHUNK_ROWS)):
            pending.append(pool.submit(_sign_chunk, chunk))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
