"""Snapshots: a holder replaces a dataset without a gap. Batches go into the snapshot apart from
the live rows; the commit swaps them in within one transaction; an abort drops them."""

from datetime import UTC
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.errors import NotFound
from app.models import Dataset
from app.models import Snapshot
from app.services.audit import audit
from app.services.principals import Principal
from matching import LARGE_CHANGE
from matching import analyze
from matching import drop_snapshot
from matching import swap_in_snapshot
from schemas.vocabulary import AuditAction
from schemas.vocabulary import ErrorCode
from schemas.vocabulary import SnapshotState
from signatures import KINDS


async def open_snapshot(session: AsyncSession, owner: Principal, dataset: Dataset) -> Snapshot:
    """A new open snapshot; 409 while another is open (the database's unique index decides, so
    that of two concurrent opens exactly one wins)."""
    already = await session.scalar(
        sa.select(Snapshot.id).where(
            Snapshot.dataset_id == dataset.id, Snapshot.status == SnapshotState.OPEN
        )
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
    await _audit(session, owner, AuditAction.SNAPSHOT_OPEN, snapshot)
    return snapshot


async def _audit(
    session: AsyncSession, owner: Principal, action: AuditAction, snapshot: Snapshot, **counts: int
) -> None:
    await audit(
        session,
        owner,
        action,
        object_type="snapshot",
        object_id=snapshot.id,
        dataset_id=snapshot.dataset_id,
        event_id=None,  # said, so that mypy does not take a count for it
        **counts,
    )


def _still_open(snapshot_id: UUID | None) -> Conflict:
    which = f"snapshot {snapshot_id}" if snapshot_id is not None else "another snapshot"
    return Conflict(
        f"{which} of this dataset is still open: commit or abort it", code=ErrorCode.SNAPSHOT_OPEN
    )


async def owned_snapshot(
    session: AsyncSession, dataset: Dataset, snapshot_id: UUID, *, open_only: bool = False
) -> Snapshot:
    """The dataset's snapshot; an aborted one was deleted (DELETE aborts) and is not found."""
    snapshot = await session.get(Snapshot, snapshot_id)
    if (
        snapshot is None
        or snapshot.dataset_id != dataset.id
        or snapshot.status == SnapshotState.ABORTED
    ):
        raise NotFound("no such snapshot")
    if open_only and snapshot.status != SnapshotState.OPEN:
        raise Conflict(f"this snapshot is {snapshot.status}")
    return snapshot


async def commit_snapshot(
    session: AsyncSession, owner: Principal, dataset: Dataset, snapshot: Snapshot
) -> None:
    """The snapshot replaces the dataset in this transaction: verify sees the old data or the
    new, never a mix and never an empty dataset."""
    now = datetime.now(UTC)
    snapshot.records = await swap_in_snapshot(session, dataset.id, snapshot.id)
    snapshot.status, snapshot.closed_at = SnapshotState.COMMITTED, now
    dataset.last_upload_at = now
    await session.flush()
    await _audit(session, owner, AuditAction.SNAPSHOT_COMMIT, snapshot, records=snapshot.records)
    if snapshot.records * len(KINDS) >= LARGE_CHANGE:
        await analyze(session)


async def abort_snapshot(session: AsyncSession, owner: Principal, snapshot: Snapshot) -> None:
    """Drop an open snapshot and everything uploaded into it."""
    await drop_snapshot(session, snapshot.id)
    snapshot.status, snapshot.closed_at = SnapshotState.ABORTED, datetime.now(UTC)
    await session.flush()
    await _audit(session, owner, AuditAction.SNAPSHOT_ABORT, snapshot)
