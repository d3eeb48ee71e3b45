"""Initial schema: organisations, API keys, datasets, batches, the signature index, usage.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    key_versions = op.create_table(
        "key_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("retired_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_key_versions")),
    )
    op.bulk_insert(key_versions, [{"version": 1, "created_at": datetime.now(UTC)}])
    op.create_table(
        "orgs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("monthly_quota", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'holder', 'buyer', 'finance')", name=op.f("ck_orgs_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("name", name=op.f("uq_orgs_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_api_keys_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_org_id"), "api_keys", ["org_id"])
    op.create_table(
        "datasets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_upload_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_datasets_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("org_id", "name", name="uq_datasets_org_id_name"),
    )
    op.create_index(op.f("ix_datasets_org_id"), "datasets", ["org_id"])
    op.create_table(
        "usage_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("endpoint", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("billable_records", sa.Integer(), nullable=False),
        sa.Column("matched_records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_org_id"], ["orgs.id"], name=op.f("fk_usage_events_buyer_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
    )
    op.create_index("ix_usage_events_buyer_created", "usage_events", ["buyer_org_id", "created_at"])
    op.create_table(
        "batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_batches_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index(op.f("ix_batches_dataset_id"), "batches", ["dataset_id"])
    op.create_table(
        "signature_index",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.LargeBinary(length=16), nullable=False),
        sa.Column("holder_org_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.Date(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_signature_index_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id", "record_key", "kind", name=op.f("pk_signature_index")
        ),
    )
    op.create_index("ix_signature_index_value", "signature_index", ["value"])
    op.create_table(
        "usage_credits",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("holder_org_id", sa.Uuid(), nullable=False),
        sa.Column("matched_records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["usage_events.id"],
            name=op.f("fk_usage_credits_event_id_usage_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["holder_org_id"], ["orgs.id"], name=op.f("fk_usage_credits_holder_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("event_id", "holder_org_id", name=op.f("pk_usage_credits")),
    )


def downgrade() -> None:
    for table in (
        "usage_credits",
        "signature_index",
        "batches",
        "usage_events",
        "datasets",
        "api_keys",
        "orgs",
        "key_versions",
    ):
        op.drop_table(table)
