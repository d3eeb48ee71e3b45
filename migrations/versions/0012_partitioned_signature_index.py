"""The signature index hash-partitioned by dataset on PostgreSQL (SQLite: unchanged).

The partition count is fixed here, at migrate time: IDCHECK_SIGNATURE_PARTITIONS (default 8; 0
keeps one plain table), handed over by app.migrate; changing it later means going down to 0011
and up again (a rewrite of the table). Partitioned by dataset (the primary key must hold the
partition key), so that an upload, a snapshot swap or a dataset's deletion works in one partition
and its indexes (a fraction of the whole); a lookup by value reads every partition's index
(docs/deploy.md has the measures).

The rows are copied into the new table, then its indexes built (faster than maintaining them row
by row), in the migration's one transaction: readers of the old table wait for its ACCESS
EXCLUSIVE lock (ALTER TABLE ... RENAME) until the migration commits.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import context
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PARTITIONS = 8
_COVERED = "holder_org_id, updated_at, expires_on, dataset_id, record_key"


def _indexed(table: str) -> list[str]:
    """The keys and indexes of the signature index, as the models name them."""
    return [
        f"ALTER TABLE {table} ADD CONSTRAINT pk_signature_index"
        " PRIMARY KEY (dataset_id, record_key, kind)",
        f"ALTER TABLE {table} ADD CONSTRAINT fk_signature_index_dataset_id_datasets"
        " FOREIGN KEY (dataset_id) REFERENCES datasets (id)",
        f"CREATE INDEX ix_signature_index_value ON {table} (value) INCLUDE ({_COVERED})",
        f"CREATE INDEX ix_signature_index_expires_on ON {table} (expires_on)",
    ]


def _set_aside() -> None:
    """The current table renamed out of the way, with its keys and indexes dropped."""
    op.execute("ALTER TABLE signature_index RENAME TO signature_index_old")
    op.execute(
        "ALTER TABLE signature_index_old DROP CONSTRAINT fk_signature_index_dataset_id_datasets"
    )
    op.execute("ALTER TABLE signature_index_old DROP CONSTRAINT pk_signature_index")
    op.execute("DROP INDEX ix_signature_index_value")
    op.execute("DROP INDEX ix_signature_index_expires_on")


def _move_rows() -> None:
    op.execute("INSERT INTO signature_index SELECT * FROM signature_index_old")
    op.execute("DROP TABLE signature_index_old")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    partitions = int(context.config.attributes.get("signature_partitions", DEFAULT_PARTITIONS))
    if partitions == 0:
        return
    _set_aside()
    op.execute(
        "CREATE TABLE signature_index (LIKE signature_index_old INCLUDING DEFAULTS)"
        " PARTITION BY HASH (dataset_id)"
    )
    for remainder in range(partitions):
        op.execute(
            f"CREATE TABLE signature_index_p{remainder} PARTITION OF signature_index"
            f" FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})"
        )
    _move_rows()
    for statement in _indexed("signature_index"):
        op.execute(statement)
    op.execute("ANALYZE signature_index")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("CREATE TABLE signature_index (LIKE signature_index_old INCLUDING DEFAULTS)")
    _move_rows()
    for statement in _indexed("signature_index"):
        op.execute(statement)
    op.execute("ANALYZE signature_index")
