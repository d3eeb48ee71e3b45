"""Snapshots: a dataset's replacement, staged apart until it is committed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_snapshots_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_index(op.f("ix_snapshots_dataset_id"), "snapshots", ["dataset_id"])
    op.create_table(
        "snapshot_index",
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.LargeBinary(length=16), nullable=False),
        sa.Column("holder_org_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.Date(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_snapshot_index_snapshot_id_snapshots")
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "record_key", "kind", name=op.f("pk_snapshot_index")
        ),
    )


def downgrade() -> None:
    op.drop_table("snapshot_index")
    op.drop_table("snapshots")
