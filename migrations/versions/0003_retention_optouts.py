"""Retention and objections: an expiry day on every signature, purge figures, the opt-out list.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signature_index") as batch:
        batch.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
    index = sa.table(
        "signature_index",
        sa.column("dataset_id", sa.Uuid()),
        sa.column("updated_at", sa.Date()),
        sa.column("expires_on", sa.Date()),
    )
    datasets = sa.table(
        "datasets", sa.column("id", sa.Uuid()), sa.column("retention_days", sa.Integer())
    )
    bind = op.get_bind()
    for dataset_id, days in bind.execute(sa.select(datasets.c.id, datasets.c.retention_days)):
        dates = bind.execute(
            sa.select(index.c.updated_at).where(index.c.dataset_id == dataset_id).distinct()
        ).scalars()
        for updated_at in list(dates):
            bind.execute(
                index.update()
                .where(index.c.dataset_id == dataset_id, index.c.updated_at == updated_at)
                .values(expires_on=updated_at + timedelta(days=days))
            )
    with op.batch_alter_table("signature_index") as batch:
        batch.alter_column("expires_on", existing_type=sa.Date(), nullable=False)
    op.create_index("ix_signature_index_expires_on", "signature_index", ["expires_on"])
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column("purged_records", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_purge_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "optouts",
        sa.Column("value", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_optouts_org_id_orgs")),
        sa.PrimaryKeyConstraint("value", name=op.f("pk_optouts")),
    )


def downgrade() -> None:
    op.drop_table("optouts")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("last_purge_at")
        batch.drop_column("purged_records")
    op.drop_index("ix_signature_index_expires_on", "signature_index")
    with op.batch_alter_table("signature_index") as batch:
        batch.drop_column("expires_on")
