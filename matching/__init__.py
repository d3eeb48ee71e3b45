"""Peppering, the signature index, lookups, sources and last_seen, verdicts.

The only package that knows the signature tables. Depends on `signatures`, never on `app`.
"""

from matching.base import Base
from matching.base import UtcDateTime
from matching.base import on_postgresql
from matching.index import DatasetCounts
from matching.index import Destination
from matching.index import IndexedRecord
from matching.index import dataset_counts
from matching.index import delete_dataset
from matching.index import delete_records
from matching.index import drop_snapshot
from matching.index import keys_in_batch
from matching.index import purge_expired
from matching.index import replace_records
from matching.index import swap_in_snapshot
from matching.keyring import KeyRing
from matching.lookup import Hits
from matching.lookup import Source
from matching.lookup import lookup
from matching.optouts import add_optouts
from matching.optouts import optout_values
from matching.optouts import withheld_records
from matching.statistics import LARGE_CHANGE
from matching.statistics import analyze
from matching.statistics import refresh_statistics
from matching.tables import signature_index
from matching.verdicts import Judgement
from matching.verdicts import KindCheck
from matching.verdicts import Probe
from matching.verdicts import Usage
from matching.verdicts import close_values
from matching.verdicts import judge
from matching.verdicts import probe_raw
from matching.verdicts import probe_signed
from matching.verdicts import probe_values
from matching.verdicts import tally

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
    "Source",
    "Usage",
    "UtcDateTime",
    "add_optouts",
    "analyze",
    "close_values",
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
    "withheld_records",
]
