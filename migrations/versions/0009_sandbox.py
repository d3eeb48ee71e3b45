"""The sandbox: test keys, and usage events marked test (never billed).

The sandbox's holder, dataset and signatures are written by the service itself at start-up
(app/services/sandbox.py): its signatures depend on the master secret, which a migration does not
need.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("api_keys", "usage_events"):
        op.add_column(
            table, sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in ("api_keys", "usage_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("test")
