"""Snapshots: a holder replaces a dataset without a gap. Batches go into the snapshot apart from
the live rows; the commit swaps them in within one transaction; an abort drops them."""

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.models import Dataset, Snapshot
from matching import LARGE_CHANGE, analyze, drop_snapshot, swap_in_snapshot
from signatures import KINDS


async def open_snapshot(session: AsyncSession, dataset: Dataset) -> Snapshot:
    """A new open snapshot; 409 while another is open (the database's unique index decides, so
    that of two concurrent opens exactly one wins)."""
    already = await session.scalar(
        sa.select(Snapshot.id).where(Snapshot.dataset_id == dataset.id, Snapshot.status == "open")
    )
    if already is not None:
        raise _still_open(already)
    snapshot = Snapshot(dataset_id=dataset.id)
    session.add(snapshot)
    try:
        async with session.begin_nested():
            await session.flush()
    except sa.exc.IntegrityError:
        raise _still_open(None) from None
    return snapshot


def _still_open(snapshot_id: UUID | None) -> Conflict:
    which = f"snapshot {snapshot_id}" if snapshot_id is not None else "another snapshot"
    return Conflict(
        f"{which} of this dataset is still open: commit or abort it", code="snapshot_open"
    )


async def owned_snapshot(
    session: AsyncSession, dataset: Dataset, snapshot_id: UUID, *, open_only: bool = False
) -> Snapshot:
    """The dataset's snapshot; an aborted one was deleted (DELETE aborts) and is not found."""
    snapshot = await session.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.dataset_id != dataset.id or snapshot.status == "aborted":
        raise NotFound("no such snapshot")
    if open_only and snapshot.status != "open":
        raise Conflict(f"this snapshot is {snapshot.status}")
    return snapshot


async def commit_snapshot(session: AsyncSession, dataset: Dataset, snapshot: Snapshot) -> None:
    now = datetime.now(UTC)
    snapshot.records = await swap_in_snapshot(session, dataset.id, snapshot.id)
    snapshot.status, snapshot.closed_at = "committed", now
    dataset.last_upload_at = now
    await session.flush()
    if snapshot.records * len(KINDS) >= LARGE_CHANGE:
        await analyze(session)


async def abort_snapshot(session: AsyncSession, snapshot: Snapshot) -> None:
    await drop_snapshot(session, snapshot.id)
    snapshot.status, snapshot.closed_at = "aborted", datetime.now(UTC)
    await session.flush()
