"""Metering: UTC day and month on usage events, monthly counters for quotas, idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("month", sa.String(length=7), nullable=True))
    events = sa.table(
        "usage_events",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("day", sa.Date()),
        sa.column("month", sa.String()),
    )
    bind = op.get_bind()
    for event_id, created_at in bind.execute(sa.select(events.c.id, events.c.created_at)).all():
        moment = created_at.astimezone(UTC) if created_at.tzinfo else created_at  # SQLite: UTC
        bind.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(day=moment.date(), month=moment.strftime("%Y-%m"))
        )
    with op.batch_alter_table("usage_events") as batch:
        batch.alter_column("day", existing_type=sa.Date(), nullable=False)
        batch.alter_column("month", existing_type=sa.String(length=7), nullable=False)
    op.create_index("ix_usage_events_day", "usage_events", ["day"])
    op.create_table(
        "usage_months",
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("billable_records", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_org_id"], ["orgs.id"], name=op.f("fk_usage_months_buyer_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("buyer_org_id", "month", name=op.f("pk_usage_months")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_idempotency_keys_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("usage_months")
    op.drop_index("ix_usage_events_day", "usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("month")
        batch.drop_column("day")
