"""Holder uploads: validated record by record as the body streams in, spooled, then written chunk
by chunk in the request's transaction, all or nothing.

One invalid record anywhere and the request fails with the details of each bad record (the first
hundred): before the transaction begins when a record is invalid, inside it (rolled back) when an
external_id repeats.
Nothing of a record is kept but its key and index values: external_ids and signatures are peppered
on arrival.
"""

import pickle
import tempfile
from collections.abc import AsyncIterator
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import IO
from typing import Any
from typing import Final
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.errors import InvalidJson
from app.errors import detail
from app.errors import validation_details
from app.models import Batch
from app.models import Dataset
from app.services.audit import audit
from app.services.principals import Principal
from matching import LARGE_CHANGE
from matching import Destination
from matching import IndexedRecord
from matching import KeyRing
from matching import analyze
from matching import keys_in_batch
from matching import on_postgresql
from matching import replace_records
from matching.bulk import BulkLoad
from matching.bulk import RepeatedKeys
from matching.index import CHUNK
from schemas.datasets import UploadBody
from schemas.datasets import UploadRecord
from schemas.vocabulary import AuditAction
from signatures import KIND_CODES
from signatures.dates import today

MAX_DETAILS: Final = 100
_ERROR_OPTIONS: Final[dict[str, Any]] = {
    "include_input": False,
    "include_context": False,
    "include_url": False,
}


def parse_json_body(raw: bytes) -> list[UploadRecord]:
    """The JSON form: {"records": [R, ...]}, validated whole (its errors name each record)."""
    try:
        return UploadBody.model_validate_json(raw).records
    except ValidationError as error:
        errors = error.errors(**_ERROR_OPTIONS)
        if any(e["type"] == "json_invalid" for e in errors):
            raise InvalidJson() from None
        raise InvalidInput(
            "the batch is not valid; nothing was written",
            details=validation_details(errors[:MAX_DETAILS]),
        ) from None


async def ndjson_records(
    stream: AsyncIterator[bytes], max_line_bytes: int
) -> AsyncIterator[tuple[int, bytes]]:
    """(record index, line) for each non-blank line, read as the body streams in."""
    pending = b""
    index = 0
    async for chunk in stream:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                yield index, line
                index += 1
        if len(pending) > max_line_bytes:
            raise InvalidInput(
                f"record {index}: a line is longer than {max_line_bytes:,} bytes",
                details=[detail(("records", index), "line too long")],
            )
    if pending.strip():
        yield index, pending


class _Checker:
    def __init__(self, keyring: KeyRing, dataset: Dataset) -> None:
        self.keyring = keyring
        self.dataset_id = dataset.id
        self.retention = timedelta(days=dataset.retention_days)
        self.today: date = today()

    def check(self, index: int, item: UploadRecord | bytes) -> IndexedRecord | list[dict[str, Any]]:
        if isinstance(item, bytes):
            try:
                item = UploadRecord.model_validate_json(item)
            except ValidationError as error:
                errors = error.errors(**_ERROR_OPTIONS)
                return validation_details(errors, prefix=("records", index))
        problems = []
        updated_at = item.updated_at
        if updated_at > self.today:
            problems.append(detail(("records", index, "updated_at"), "a date in the future"))
        if not self.keyring.knows(item.key_version):
            problems.append(detail(("records", index, "key_version"), "unknown key version"))
        if problems:
            return problems
        version = item.key_version
        return IndexedRecord(
            record_key=self.keyring.record_key(self.dataset_id, item.external_id),
            updated_at=updated_at,
            expires_on=updated_at + self.retention,
            key_version=version,
            values={
                slot: self.keyring.index_value(version, bytes.fromhex(signature))
                for slot, signature in item.slots().items()
            },
        )


class Spool:
    """An upload's checked records, chunk by chunk, in unnamed temporary files (mode 0600, gone
    when closed): the body is read whole before the transaction that writes it begins, so that no
    client holds a connection or a lock while it sends. It holds what the index holds, record keys
    and index values, never a client's signature or external_id; each chunk's record keys are
    also kept apart, for a writer that goes through the keys before the rows."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._keys = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.chunks = 0
        self.records = 0
        self._pending: list[tuple[int, IndexedRecord]] = []

    def add(self, index: int, record: IndexedRecord) -> None:
        self._pending.append((index, record))
        self.records += 1
        if len(self._pending) >= CHUNK:
            self._dump()

    def _dump(self) -> None:
        if self._pending:
            pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            keys = [record.record_key for _, record in self._pending]
            pickle.dump(keys, self._keys, protocol=pickle.HIGHEST_PROTOCOL)
            self.chunks += 1
            self._pending = []

    def read(self) -> Iterator[list[tuple[int, IndexedRecord]]]:
        yield from self._load(self._file)

    def record_keys(self) -> Iterator[list[bytes]]:
        """Each chunk's record keys, in order."""
        yield from self._load(self._keys)

    def _load(self, file: IO[bytes]) -> Iterator[Any]:
        self._dump()
        file.seek(0)
        for _ in range(self.chunks):
            # Only this process wrote the file, unnamed and private: nothing else can feed it.
            yield pickle.load(file)  # noqa: S301

    def close(self) -> None:
        self._file.close()
        self._keys.close()


async def spool_records(
    keyring: KeyRing,
    dataset: Dataset,
    records: AsyncIterator[tuple[int, UploadRecord | bytes]],
    *,
    max_records: int,
) -> Spool:
    """Check every record as the body streams in and keep the checked ones in a spool; one
    invalid record and the upload fails with the details of each (the first hundred)."""
    checker = _Checker(keyring, dataset)
    spool = Spool()
    details: list[dict[str, Any]] = []
    try:
        async for index, item in records:
            if index >= max_records:
                details.append(
                    detail(("records", index), f"a batch holds at most {max_records:,} records")
                )
                break
            checked = checker.check(index, item)
            if isinstance(checked, list):
                details.extend(checked)
            elif not details:
                spool.add(index, checked)
            if len(details) >= MAX_DETAILS:
                break
        if details:
            raise InvalidInput(
                "the batch is not valid; nothing was written", details=details[:MAX_DETAILS]
            )
        if spool.records == 0:
            raise InvalidInput("the batch holds no record", details=[detail(("records",), "empty")])
    except BaseException:
        spool.close()
        raise
    return spool


class _Writer:
    """Writes chunks of checked records; stops writing at the first repeated external_id.

    On PostgreSQL the chunks are copied straight into the destination (a repeated external_id
    sends the batch the staging way, which names each repeat: matching/bulk.py); on SQLite each
    chunk replaces its records at once.
    """

    def __init__(
        self,
        session: AsyncSession,
        dataset: Dataset,
        destination: Destination,
        batch: Batch,
        bulk: BulkLoad | None,
    ) -> None:
        self.session, self.dataset, self.batch = session, dataset, batch
        self.destination = destination
        self.bulk = bulk
        self.details: list[dict[str, Any]] = []
        self.written = 0
        self.rows = 0  # signatures and close forms
        self.signatures = 0  # the kinds' own

    async def write(self, chunk: list[tuple[int, IndexedRecord]]) -> None:
        if self.details:
            return
        if self.bulk is not None:
            await self.bulk.copy(chunk)
            self._count(chunk)
            return
        keys = [record.record_key for _, record in chunk]
        seen = await keys_in_batch(self.session, self.destination, self.batch.id, keys)
        for index, record in chunk:
            if record.record_key in seen:
                self.details.append(
                    detail(("records", index, "external_id"), "appears twice in this batch")
                )
            seen.add(record.record_key)
        if self.details:
            return
        await replace_records(
            self.session,
            destination=self.destination,
            holder_org_id=self.dataset.org_id,
            batch_id=self.batch.id,
            records=[record for _, record in chunk],
        )
        self._count(chunk)

    async def write_direct(self, spool: Spool) -> None:
        """Straight into the destination: every record key first, then every row (bulk.py)."""
        assert self.bulk is not None
        for keys in spool.record_keys():
            await self.bulk.claim(keys)
        await self.bulk.copy_all(self._counted(spool.read()))
        await self.bulk.finish_direct()

    def _counted(
        self, chunks: Iterator[list[tuple[int, IndexedRecord]]]
    ) -> Iterator[list[tuple[int, IndexedRecord]]]:
        for chunk in chunks:
            self._count(chunk)
            yield chunk

    def _count(self, chunk: list[tuple[int, IndexedRecord]]) -> None:
        self.written += len(chunk)
        for _, record in chunk:
            self.rows += len(record.values)
            self.signatures += sum(slot in KIND_CODES for slot in record.values)

    async def finish(self) -> None:
        if self.bulk is None or self.details:
            return
        for index in await self.bulk.repeated():
            self.details.append(
                detail(("records", index, "external_id"), "appears twice in this batch")
            )
        if not self.details:
            await self.bulk.merge(self.dataset.org_id, self.batch.id)


async def _write(writer: _Writer, spool: Spool) -> _Writer:
    if writer.bulk is not None and writer.bulk.direct:
        await writer.write_direct(spool)
        return writer
    for chunk in spool.read():
        await writer.write(chunk)
        if len(writer.details) >= MAX_DETAILS:
            break
    await writer.finish()
    return writer


async def ingest(
    session: AsyncSession,
    dataset: Dataset,
    uploader: Principal,
    spool: Spool,
    *,
    snapshot_id: UUID | None = None,
) -> tuple[Batch, int]:
    """Write a spooled batch, to the dataset or into one of its open snapshots; returns the batch
    and the number of signatures written (close forms included). The caller holds the dataset's
    row lock, so that two uploads to one dataset are written one after the other."""
    batch = Batch(dataset_id=dataset.id, api_key_id=uploader.key_id)
    session.add(batch)
    await session.flush()
    destination = Destination(dataset.id, snapshot_id)
    bulk = None
    if on_postgresql(session):
        bulk = await BulkLoad.open(session, destination, dataset.org_id, batch.id)
    try:
        writer = await _write(_Writer(session, dataset, destination, batch, bulk), spool)
    except RepeatedKeys:
        assert bulk is not None
        bulk = await bulk.staged()  # the staging way names each repeated key
        writer = await _write(_Writer(session, dataset, destination, batch, bulk), spool)
    if writer.details:
        raise InvalidInput(
            "the batch is not valid; nothing was written", details=writer.details[:MAX_DETAILS]
        )
    batch.records = writer.written
    if snapshot_id is None:
        dataset.last_upload_at = datetime.now(UTC)
    await session.flush()
    if writer.rows >= LARGE_CHANGE:  # the planner must see the table grow (statistics.py)
        await analyze(session, "signature_index" if snapshot_id is None else "snapshot_index")
    action = AuditAction.RECORDS_UPLOAD if snapshot_id is None else AuditAction.SNAPSHOT_UPLOAD
    await audit(
        session,
        uploader,
        action,
        object_type="batch",
        object_id=batch.id,
        dataset_id=dataset.id,
        records=batch.records,
        signatures=writer.signatures,
        close_forms=writer.rows - writer.signatures,
    )
    return batch, writer.rows
