"""The signature index: the only table that holds signatures, as peppered index values.

One row per (dataset, record, kind). No raw field, no client-sent signature and no holder record
id in clear: `value` is BLAKE3(key = pepper v{n}, signature)[:16] and `record_key` a keyed BLAKE3
of the dataset id and the holder's external_id (see keyring.py).
"""

from typing import Final

import sqlalchemy as sa

from matching.base import Base
from signatures import KINDS

# Stable small codes for the kinds, stored instead of their names.
KIND_CODES: Final[dict[str, int]] = {kind: code for code, kind in enumerate(KINDS, start=1)}
KIND_NAMES: Final[dict[int, str]] = {code: kind for kind, code in KIND_CODES.items()}

signature_index = sa.Table(
    "signature_index",
    Base.metadata,
    sa.Column("dataset_id", sa.Uuid, sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("record_key", sa.LargeBinary(16), primary_key=True),
    sa.Column("kind", sa.SmallInteger, primary_key=True),
    sa.Column("key_version", sa.SmallInteger, nullable=False),
    sa.Column("value", sa.LargeBinary(16), nullable=False),
    # Denormalised from the dataset so that a lookup reads this table alone.
    sa.Column("holder_org_id", sa.Uuid, nullable=False),
    sa.Column("updated_at", sa.Date, nullable=False),
    sa.Column("batch_id", sa.Uuid, nullable=False),
    # Lookups are equality on `value`, a batch of them per query.
    sa.Index("ix_signature_index_value", "value"),
)
