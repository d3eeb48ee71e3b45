"""Signature rows without foreign keys: signature_index.dataset_id and snapshot_index.snapshot_id
no longer reference their owner's table.

A foreign key is checked row by row (a trigger per inserted row looks up and key-share locks the
parent). On the signature index that was about a third of a bulk upload's time: 1,200,000 rows
copied in chunks of 42,000 into a table indexed like signature_index ran at 74,700-81,400 rows/s
with the key and 111,600-115,100 without (2026-12-05, this machine). The rule the keys stood for
holds without them, by the one way these rows are written (matching/index.py, matching/bulk.py):
every write of a dataset's rows (upload, snapshot upload and commit, erasure) and the dataset's
deletion run under the dataset's row lock, in the transaction that first loaded the dataset under
that lock (a dataset deleted meanwhile is a 404), and a deletion removes the dataset's rows from
both tables before the dataset (tests/app/test_datasets.py holds both to it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, its foreign key's name, column, referred table)
_KEYS = (
    ("signature_index", "fk_signature_index_dataset_id_datasets", "dataset_id", "datasets"),
    ("snapshot_index", "fk_snapshot_index_snapshot_id_snapshots", "snapshot_id", "snapshots"),
)


def upgrade() -> None:
    for table, name, _, _ in _KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, column, referred in _KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, referred, [column], ["id"])
