"""PostgreSQL's planner statistics for the signature tables, kept fresh by the server itself.

A lookup is one `value = ANY($1)` statement, fast only on the b-tree of `value`. The planner takes
that index when its statistics say the table is large and `value` nearly unique; for a table
bulk-loaded and never analysed, it guesses, and may scan the whole table instead. The benchmark
met it: PostgreSQL with autovacuum off, 58 M rows loaded, never analysed; a 1,000-record verify
took 20 to 85 s (parallel sequential scans) instead of milliseconds. So the server does not leave
this to autovacuum: a large upload (or snapshot commit) analyses the table in its own
transaction, before it commits, and the housekeeping loop analyses a table whenever a tenth of
it changed since the last analysis (checked every 30 s). ANALYZE samples a fixed number of rows:
about 5 s on those 58 M rows; it blocks no reader or writer, only another ANALYZE, until the
upload commits.
"""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.base import on_postgresql

TABLES = ("signature_index", "snapshot_index")
STALE_FRACTION = 0.1  # autovacuum's own default (autovacuum_analyze_scale_factor)
MIN_CHANGES = 10_000  # below this, any plan is fast
LARGE_CHANGE = 100_000  # signatures: an upload this large analyses the table before it commits


def _stale(live: int, changed: int) -> bool:
    """Changed by a tenth since its last analysis, and by enough rows for a plan to care."""
    return changed >= MIN_CHANGES and changed > STALE_FRACTION * live


async def analyze(session: AsyncSession, table: str = "signature_index") -> None:
    if table not in TABLES:
        raise ValueError(f"not a signature table: {table}")
    if on_postgresql(session):
        await session.execute(sa.text(f"ANALYZE {table}"))


async def refresh_statistics(session: AsyncSession) -> list[str]:
    """Analyse the signature tables that changed by a tenth since their last analysis."""
    if not on_postgresql(session):
        return []  # SQLite's planner takes the index for these lookups without statistics
    # A partitioned table (signature_index on PostgreSQL, revision 0012) has no row of its own
    # here: its partitions' rows count for it, and ANALYZE of it analyses them too.
    rows = await session.execute(
        sa.text(
            "SELECT coalesce(i.inhparent::regclass::text, s.relname),"
            " sum(s.n_live_tup)::bigint, sum(s.n_mod_since_analyze)::bigint"
            " FROM pg_stat_user_tables s LEFT JOIN pg_inherits i ON i.inhrelid = s.relid"
            " GROUP BY 1"
        )
    )
    stale = [str(name) for name, live, changed in rows if name in TABLES and _stale(live, changed)]
    for table in stale:
        await analyze(session, table)
    return stale


async def analyze_if_stale(session: AsyncSession, relation: int) -> bool:
    """Analyse one table or partition (by its oid) whose statistics lag a tenth behind its rows:
    an upload's per-chunk deletes (matching/bulk.py) are planned from them, and with a dataset's
    partition still counted empty PostgreSQL reads all of the dataset's keys for each chunk."""
    row = (
        await session.execute(
            sa.text(
                "SELECT relid::regclass::text, n_live_tup, n_mod_since_analyze"
                " FROM pg_stat_user_tables WHERE relid = :relation"
            ),
            {"relation": relation},
        )
    ).first()
    if row is None:
        return False
    name, live, changed = row
    if not _stale(live, changed):
        return False
    await session.execute(sa.text(f"ANALYZE {name}"))  # a name from the catalogue, quoted
    return True
