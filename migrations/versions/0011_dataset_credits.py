"""Credits by dataset: which of a holder's datasets confirmed a verify's records.

Verifies before this revision were credited to holders only: their months have no rows here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_dataset_credits",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("holder_org_id", sa.Uuid(), nullable=False),
        sa.Column("matched_records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["usage_events.id"],
            name=op.f("fk_usage_dataset_credits_event_id_usage_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["holder_org_id"], ["orgs.id"], name=op.f("fk_usage_dataset_credits_holder_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("event_id", "dataset_id", name=op.f("pk_usage_dataset_credits")),
    )
    op.create_index(
        op.f("ix_usage_dataset_credits_holder_org_id"), "usage_dataset_credits", ["holder_org_id"]
    )


def downgrade() -> None:
    op.drop_table("usage_dataset_credits")
