"""The lookup index carries what a lookup reads (PostgreSQL: INCLUDE), for index-only scans.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = ["holder_org_id", "updated_at", "expires_on", "dataset_id", "record_key"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE: its plain index on value stays
    op.drop_index("ix_signature_index_value", "signature_index")
    op.create_index(
        "ix_signature_index_value", "signature_index", ["value"], postgresql_include=COVERED
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_signature_index_value", "signature_index")
    op.create_index("ix_signature_index_value", "signature_index", ["value"])
