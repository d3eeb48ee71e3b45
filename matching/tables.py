"""The signature index: the only table that holds signatures, as peppered index values.

One row per (dataset, record, kind). No raw field, no client-sent signature and no holder record
id in clear: `value` is BLAKE3(key = pepper v{n}, signature)[:16] and `record_key` a keyed BLAKE3
of the dataset id and the holder's external_id (see keyring.py).
"""

import re
from typing import Final

import sqlalchemy as sa

from matching.base import Base
from matching.base import UtcDateTime


def _row_key(owner: sa.Column[object]) -> list[sa.Column[object]]:
    """The primary key of a signature row: its owner (a dataset, or a snapshot), the record's key,
    the kind's code."""
    return [
        owner,
        sa.Column("record_key", sa.LargeBinary(16), primary_key=True),
        sa.Column("kind", sa.SmallInteger, primary_key=True),
    ]


def _signature_columns() -> list[sa.Column[object]]:
    """What a signature row holds besides its keys, wherever it is kept."""
    return [
        sa.Column("key_version", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.LargeBinary(16), nullable=False),
        # Denormalised from the dataset so that a lookup reads this table alone.
        sa.Column("holder_org_id", sa.Uuid, nullable=False),
        sa.Column("updated_at", sa.Date, nullable=False),
        sa.Column("batch_id", sa.Uuid, nullable=False),
        # updated_at + the dataset's retention: from that day on the record never matches, and
        # the purge removes it.
        sa.Column("expires_on", sa.Date, nullable=False),
    ]


signature_index = sa.Table(
    "signature_index",
    Base.metadata,
    # No foreign key to datasets (nor from snapshot_index to snapshots): a key is checked row by
    # row, a third of a bulk upload's time; the dataset's row lock keeps the rule (migration 0013).
    *_row_key(sa.Column("dataset_id", sa.Uuid, primary_key=True)),
    *_signature_columns(),
    # Lookups are equality on `value`, a batch of them per query (= ANY of an array). A b-tree,
    # not a hash index: it is as fast for equality on 16 random bytes, and only a b-tree can
    # carry the other columns a lookup reads (INCLUDE, PostgreSQL), which makes the lookup an
    # index-only scan. The opt-out check then probes the primary key.
    sa.Index(
        "ix_signature_index_value",
        "value",
        postgresql_include=[
            "holder_org_id",
            "updated_at",
            "expires_on",
            "dataset_id",
            "record_key",
        ],
    ),
    sa.Index("ix_signature_index_expires_on", "expires_on"),
)

#: The partitions of signature_index on PostgreSQL (migration 0012: hash of dataset_id, their
#: count fixed at migrate): storage, not model; the migration-vs-model comparison skips them.
PARTITION: Final = re.compile(r"signature_index_p\d+")

#: A dataset's replacement while it is being uploaded: the same rows as the index, kept apart
#: until the snapshot is committed (then swapped in, in one transaction) or aborted.
snapshot_index = sa.Table(
    "snapshot_index",
    Base.metadata,
    *_row_key(sa.Column("snapshot_id", sa.Uuid, primary_key=True)),
    sa.Column("dataset_id", sa.Uuid, nullable=False),
    *_signature_columns(),
)

#: Objections (GDPR art. 21): index values of the `email` and `phone` kinds, one per key version.
#: A record holding one of them in its email or phone signature matches nothing, in any dataset.
optouts = sa.Table(
    "optouts",
    Base.metadata,
    sa.Column("value", sa.LargeBinary(16), primary_key=True),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("key_version", sa.SmallInteger, nullable=False),
    # Who filed it; none when it came from `idcheck admin optout` on the command line.
    sa.Column("org_id", sa.Uuid, sa.ForeignKey("orgs.id"), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
