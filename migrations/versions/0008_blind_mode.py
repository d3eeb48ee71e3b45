"""Blind mode: a scheme per key version, evaluation quotas and counters.

Every existing version is HMAC (spec v1). Organisations get an optional monthly evaluation quota
(none: the default of app/services/evaluations.py); evaluations are counted per month (the quota's
counter) and per day (usage reports).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMES = "('hmac-sha256', 'oprf-ristretto255-sha512')"


def upgrade() -> None:
    with op.batch_alter_table("key_versions") as batch:
        batch.add_column(
            sa.Column("scheme", sa.String(32), nullable=False, server_default="hmac-sha256")
        )
        batch.create_check_constraint(op.f("ck_key_versions_scheme"), f"scheme IN {SCHEMES}")
    op.add_column("orgs", sa.Column("monthly_evaluation_quota", sa.BigInteger(), nullable=True))
    op.create_table(
        "evaluation_months",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("evaluations", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_evaluation_months_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "month", name=op.f("pk_evaluation_months")),
    )
    op.create_table(
        "evaluation_days",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("evaluations", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_evaluation_days_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "day", name=op.f("pk_evaluation_days")),
    )


def downgrade() -> None:
    op.drop_table("evaluation_days")
    op.drop_table("evaluation_months")
    op.drop_column("orgs", "monthly_evaluation_quota")
    with op.batch_alter_table("key_versions") as batch:
        batch.drop_constraint(op.f("ck_key_versions_scheme"), type_="check")
        batch.drop_column("scheme")
