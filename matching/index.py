"""Writing the signature index: replacing records, erasing them, counting a dataset."""

from collections import Counter
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Final
from typing import TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.tables import signature_index
from matching.tables import snapshot_index
from signatures import KIND_CODES
from signatures import SLOT_CODES
from signatures import SLOT_KINDS

# Values per IN (...) list: well under SQLite's 32,766 bound variables and asyncpg's 32,767.
CHUNK: Final = 1000
T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterable[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    """One holder record, ready for the index: its key, date, key version and index values."""

    record_key: bytes
    updated_at: date
    expires_on: date  # updated_at + the dataset's retention
    key_version: int
    values: dict[str, bytes]  # slot (a kind, or a close form of one) -> index value


@dataclass(frozen=True)
class DatasetCounts:
    records: int
    signatures: int  # the kinds' own, as by_kind counts them
    by_kind: dict[str, int]
    #: Signatures of the close forms of names (tolerant checks), besides ``signatures``.
    close_forms: int
    #: The first day a record of the dataset runs out of retention (the next purge takes it).
    next_expiry: date | None = None


@dataclass(frozen=True)
class Destination:
    """Where a batch goes: the live index of a dataset, or one of its open snapshots."""

    dataset_id: UUID
    snapshot_id: UUID | None = None

    @property
    def table(self) -> sa.Table:
        return signature_index if self.snapshot_id is None else snapshot_index

    def scope(self) -> sa.ColumnElement[bool]:
        if self.snapshot_id is None:
            return signature_index.c.dataset_id == self.dataset_id
        return snapshot_index.c.snapshot_id == self.snapshot_id

    def columns(self) -> dict[str, UUID]:
        extra = {} if self.snapshot_id is None else {"snapshot_id": self.snapshot_id}
        return {"dataset_id": self.dataset_id, **extra}


async def keys_in_batch(
    session: AsyncSession, destination: Destination, batch_id: UUID, keys: Sequence[bytes]
) -> set[bytes]:
    """Which of ``keys`` this batch has already written: a repeat inside one batch is an error."""
    found: set[bytes] = set()
    table = destination.table
    for chunk in chunks(keys):
        rows = await session.execute(
            sa.select(table.c.record_key)
            .where(destination.scope(), table.c.batch_id == batch_id)
            .where(table.c.record_key.in_(chunk))
            .distinct()
        )
        found.update(rows.scalars())
    return found


async def replace_records(
    session: AsyncSession,
    *,
    destination: Destination,
    holder_org_id: UUID,
    batch_id: UUID,
    records: Sequence[IndexedRecord],
) -> None:
    """Write ``records``, replacing every signature their keys had in the destination before."""
    table = destination.table
    for chunk in chunks([record.record_key for record in records]):
        await session.execute(
            sa.delete(table).where(destination.scope(), table.c.record_key.in_(chunk))
        )
    rows = [
        {
            **destination.columns(),
            "record_key": record.record_key,
            "kind": SLOT_CODES[slot],
            "key_version": record.key_version,
            "value": value,
            "holder_org_id": holder_org_id,
            "updated_at": record.updated_at,
            "expires_on": record.expires_on,
            "batch_id": batch_id,
        }
        for record in records
        for slot, value in record.values.items()
    ]
    if rows:
        await session.execute(sa.insert(table), rows)


async def delete_records(session: AsyncSession, dataset_id: UUID, keys: Sequence[bytes]) -> int:
    """Erase these records of the dataset; returns how many existed."""
    table = signature_index
    deleted = 0
    for chunk in chunks(sorted(set(keys))):
        condition = sa.and_(table.c.dataset_id == dataset_id, table.c.record_key.in_(chunk))
        existing = await session.scalar(
            sa.select(sa.func.count(sa.distinct(table.c.record_key))).where(condition)
        )
        deleted += existing or 0
        await session.execute(sa.delete(table).where(condition))
    return deleted


async def delete_dataset(session: AsyncSession, dataset_id: UUID) -> None:
    await session.execute(
        sa.delete(signature_index).where(signature_index.c.dataset_id == dataset_id)
    )
    await session.execute(
        sa.delete(snapshot_index).where(snapshot_index.c.dataset_id == dataset_id)
    )


_COPIED = ("record_key", "kind", "dataset_id", "key_version", "value", "holder_org_id",
           "updated_at", "batch_id", "expires_on")  # fmt: skip


async def swap_in_snapshot(session: AsyncSession, dataset_id: UUID, snapshot_id: UUID) -> int:
    """The snapshot becomes the dataset, in the caller's one transaction: a reader sees the old
    rows or the new ones, never a mix and never none. Returns the records swapped in."""
    staged = snapshot_index.c.snapshot_id == snapshot_id
    records = await session.scalar(
        sa.select(sa.func.count(sa.distinct(snapshot_index.c.record_key))).where(staged)
    )
    await session.execute(
        sa.delete(signature_index).where(signature_index.c.dataset_id == dataset_id)
    )
    columns = [snapshot_index.c[name] for name in _COPIED]
    await session.execute(
        sa.insert(signature_index).from_select(list(_COPIED), sa.select(*columns).where(staged))
    )
    await session.execute(sa.delete(snapshot_index).where(staged))
    return records or 0


async def drop_snapshot(session: AsyncSession, snapshot_id: UUID) -> None:
    await session.execute(
        sa.delete(snapshot_index).where(snapshot_index.c.snapshot_id == snapshot_id)
    )


async def dataset_counts(session: AsyncSession, dataset_id: UUID) -> DatasetCounts:
    table = signature_index
    records, next_expiry = (
        await session.execute(
            sa.select(
                sa.func.count(sa.distinct(table.c.record_key)), sa.func.min(table.c.expires_on)
            ).where(table.c.dataset_id == dataset_id)
        )
    ).one()
    by_kind: Counter[str] = Counter()
    rows = await session.execute(
        sa.select(table.c.kind, sa.func.count())
        .where(table.c.dataset_id == dataset_id)
        .group_by(table.c.kind)
    )
    close_forms = 0
    for code, count in rows:
        kind, close = SLOT_KINDS[code]
        if close:
            close_forms += count
        else:
            by_kind[kind] = count
    return DatasetCounts(
        records=records or 0,
        signatures=sum(by_kind.values()),
        by_kind={kind: by_kind[kind] for kind in KIND_CODES if by_kind[kind]},
        close_forms=close_forms,
        next_expiry=next_expiry,
    )


async def purge_expired(session: AsyncSession, today: date) -> dict[UUID, int]:
    """Delete the records whose retention has run out; returns how many, by dataset."""
    table = signature_index
    expired = table.c.expires_on <= today
    counts = await session.execute(
        sa.select(table.c.dataset_id, sa.func.count(sa.distinct(table.c.record_key)))
        .where(expired)
        .group_by(table.c.dataset_id)
    )
    purged = {dataset_id: count for dataset_id, count in counts}
    if purged:
        await session.execute(sa.delete(table).where(expired))
    return purged
