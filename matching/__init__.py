"""Peppering, the signature index, lookups, sources and last_seen, verdicts.

The only package that knows the signature tables. Depends on `signatures`, never on `app`.
"""

from matching.base import Base, UtcDateTime, on_postgresql
from matching.index import (
    DatasetCounts,
    Destination,
    IndexedRecord,
    dataset_counts,
    delete_dataset,
    delete_records,
    drop_snapshot,
    keys_in_batch,
    purge_expired,
    replace_records,
    swap_in_snapshot,
)
from matching.keyring import KeyRing
from matching.lookup import Hits, lookup
from matching.optouts import add_optouts, optout_values
from matching.statistics import LARGE_CHANGE, analyze, refresh_statistics
from matching.tables import signature_index
from matching.verdicts import (
    Judgement,
    KindCheck,
    Probe,
    Usage,
    judge,
    probe_raw,
    probe_signed,
    probe_values,
    tally,
)

__all__ = [
    "LARGE_CHANGE",
    "Base",
    "DatasetCounts",
    "Destination",
    "Hits",
    "IndexedRecord",
    "Judgement",
    "KeyRing",
    "KindCheck",
    "Probe",
    "Usage",
    "UtcDateTime",
    "add_optouts",
    "analyze",
    "dataset_counts",
    "delete_dataset",
    "delete_records",
    "drop_snapshot",
    "judge",
    "keys_in_batch",
    "lookup",
    "on_postgresql",
    "optout_values",
    "probe_raw",
    "probe_signed",
    "probe_values",
    "purge_expired",
    "refresh_statistics",
    "replace_records",
    "signature_index",
    "swap_in_snapshot",
    "tally",
]
