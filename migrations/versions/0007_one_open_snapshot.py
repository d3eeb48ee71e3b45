"""One open snapshot per dataset, enforced by the database (a partial unique index).

Two concurrent opens used to pass the check and both insert. Where that happened, the latest
open snapshot of a dataset stays open and the others are aborted (their uploaded rows dropped).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    snapshots = sa.table(
        "snapshots",
        sa.column("id", sa.Uuid()),
        sa.column("dataset_id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("closed_at", sa.DateTime()),
    )
    rows = op.get_bind().execute(
        sa.select(snapshots.c.id, snapshots.c.dataset_id)
        .where(snapshots.c.status == "open")
        .order_by(snapshots.c.dataset_id, snapshots.c.created_at.desc())
    )
    seen: set[object] = set()
    stale = []
    for snapshot_id, dataset_id in rows:
        if dataset_id in seen:
            stale.append(snapshot_id)
        seen.add(dataset_id)
    if stale:
        rows_of = sa.table("snapshot_index", sa.column("snapshot_id", sa.Uuid()))
        op.execute(sa.delete(rows_of).where(rows_of.c.snapshot_id.in_(stale)))
        op.execute(
            sa.update(snapshots)
            .where(snapshots.c.id.in_(stale))
            .values(status="aborted", closed_at=sa.func.current_timestamp())
        )
    op.create_index(
        "uq_snapshots_one_open",
        "snapshots",
        ["dataset_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_snapshots_one_open", "snapshots")
