"""The holders' side of the service benchmark, streamed through NDJSON files.

Ten million signed records do not fit in the benchmark's memory as Python objects (about 10 GB),
so they are signed by a pool of processes straight into files of one upload each; the uploads
and the raw COPY read those files back in blocks.
"""

import json
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Generator
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from itertools import islice
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from app.cli.people import people
from matching import KeyRing
from signatures import SLOT_CODES
from signatures import sign_record
from signatures.kinds import slots

CHUNK_ROWS = 10_000  # rows a signing process takes at a time; file sizes are multiples of it
BLOCK_BYTES = 2**20
COPY_COLUMNS = [
    "dataset_id",
    "record_key",
    "kind",
    "key_version",
    "value",
    "holder_org_id",
    "updated_at",
    "batch_id",
    "expires_on",
]


@dataclass(frozen=True)
class SignedFile:
    path: Path
    records: int
    signatures: int

    @property
    def megabytes(self) -> float:
        return self.path.stat().st_size / 2**20

    def blocks(self) -> Iterator[bytes]:
        """The file as an upload body, a megabyte at a time."""
        with self.path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                yield block


def _sign_chunk(args: tuple[list[dict[str, str]], bytes, bool]) -> tuple[list[str], int]:
    rows, key, close_forms = args
    start = date(2026, 10, 1)
    lines, signatures = [], 0
    for row in rows:
        signed = sign_record(row, key)
        if signed.signatures:
            updated = (start - timedelta(days=hash(row["external_id"]) % 300)).isoformat()
            record = {
                "external_id": row["external_id"],
                "updated_at": updated,
                "key_version": 1,
                **signed.upload(),
            }
            if not close_forms:
                record.pop("close", None)
            lines.append(json.dumps(record) + "\n")
            signatures += len(signed.signatures)
            signatures += sum(map(len, signed.close.values())) if close_forms else 0
    return lines, signatures


def _signed_chunks(
    count: int, seed: int, key: bytes, close_forms: bool
) -> Generator[tuple[list[str], int]]:
    """Signed chunks in order, with a few in flight per process: memory stays flat.

    (Pool.imap would read the whole input ahead, ten million rows at the large scale.)
    """
    rows = people(count, seed=seed)
    with multiprocessing.get_context("spawn").Pool() as pool:
        window: deque[AsyncResult[tuple[list[str], int]]] = deque()
        while True:
            while len(window) < 4 * (os.cpu_count() or 1):
                chunk = list(islice(rows, CHUNK_ROWS))
                if not chunk:
                    break
                window.append(pool.apply_async(_sign_chunk, ((chunk, key, close_forms),)))
            if not window:
                return
            yield window.popleft().get()


def write_signed(
    files: list[int],
    key: bytes,
    seed: int,
    workdir: Path,
    prefix: str = "holders",
    close_forms: bool = True,
) -> list[SignedFile]:
    """Generate and sign ``sum(files)`` people into one NDJSON file per entry of ``files``, with
    the close forms of their names unless ``close_forms`` is false.

    Rows that sign to nothing (every field invalid) are left out, so a file may hold a few fewer
    records than its entry.
    """
    if any(size % CHUNK_ROWS for size in files):
        raise ValueError(f"file sizes are multiples of {CHUNK_ROWS}")
    written: list[SignedFile] = []
    chunks = _signed_chunks(sum(files), seed, key, close_forms)
    with closing(chunks):  # closing it ends the pool
        for number, size in enumerate(files):
            path = workdir / f"{prefix}-{number}.ndjson"
            records = signatures = 0
            with path.open("w", encoding="utf-8") as handle:
                for lines, count in islice(chunks, size // CHUNK_ROWS):
                    handle.writelines(lines)
                    records += len(lines)
                    signatures += count
            written.append(SignedFile(path, records, signatures))
    return written


def index_rows(
    signed: SignedFile, keyring: KeyRing, dataset: str, holder: str, per_part: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows the server would store for ``signed``, ``per_part`` records at a time."""
    dataset_id, holder_id, batch = uuid.UUID(dataset), uuid.UUID(holder), uuid.uuid4()
    with signed.path.open(encoding="utf-8") as handle:
        while lines := list(islice(handle, per_part)):
            rows = []
            for line in lines:
                record = json.loads(line)
                key = keyring.record_key(dataset_id, record["external_id"])
                updated = date.fromisoformat(record["updated_at"])
                expires = updated + timedelta(days=1095)
                for slot, signature in slots(record["signatures"], record.get("close", {})).items():
                    value = keyring.index_value(1, bytes.fromhex(signature))
                    code = SLOT_CODES[slot]
                    rows.append(
                        (dataset_id, key, code, 1, value, holder_id, updated, batch, expires)
                    )
            yield rows
