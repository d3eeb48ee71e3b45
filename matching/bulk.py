"""Bulk uploads on PostgreSQL: records are copied by binary COPY straight into the destination,
inside a savepoint, chunk by chunk, and a record key given twice sends the upload the staging way
instead (the savepoint rolled back; a temporary table by COPY, then one set-based merge, which
names every repeat). No INSERT per row, no ORM object per record, and nothing kept in memory but
the chunk being copied.

Into a destination that holds nothing of the dataset yet (a first upload, a fresh snapshot) there
is nothing to replace: the chunks are copied as they come, and one count at the end finds a
repeat. Into one that holds records, each chunk first deletes the rows its keys had (an upload
replaces a record's rows), in one statement that also says whether one of them came from this
very batch: a repeat. That statement is planned from the statistics of the table or partition
that holds the dataset: counted (nearly) empty, PostgreSQL reads all of the dataset's keys for
each chunk instead of the chunk's own. So it is not run on an empty destination (whose rows are
all this upload's), and a destination whose statistics lag a tenth behind is analysed first.

SQLite has no COPY: index.replace_records serves it, chunk by chunk.
"""

import secrets
from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.index import Destination
from matching.index import IndexedRecord
from matching.statistics import analyze_if_stale
from signatures import SLOT_CODES

_COLUMNS = ("ordinal", "record_key", "kind", "key_version", "value", "updated_at", "expires_on")


class RepeatedKeys(Exception):
    """A batch copied straight into its destination holds a record key twice."""


class BulkLoad:
    """One upload's way into its destination, in the caller's transaction: the destination
    itself inside a savepoint (``direct``), or a staging table dropped at the transaction's end."""

    def __init__(
        self,
        session: AsyncSession,
        destination: Destination,
        *,
        direct: bool = False,
        replacing: bool = False,
    ) -> None:
        self.session = session
        self.destination = destination
        self.direct = direct
        self.replacing = replacing  # direct, into a destination that held records
        self._savepoint: Any = None
        self._batch_id: Any = None
        self._constants: tuple[Any, ...] = ()
        self._direct_columns: tuple[str, ...] = ()
        self.name = f"upload_{secrets.token_hex(6)}"
        self.staging = sa.Table(
            self.name,
            sa.MetaData(),
            sa.Column("ordinal", sa.Integer),
            sa.Column("record_key", sa.LargeBinary),
            sa.Column("kind", sa.SmallInteger),
            sa.Column("key_version", sa.SmallInteger),
            sa.Column("value", sa.LargeBinary),
            sa.Column("updated_at", sa.Date),
            sa.Column("expires_on", sa.Date),
        )
        self._connection: Any = None

    @classmethod
    async def open(
        cls, session: AsyncSession, destination: Destination, holder_org_id: Any, batch_id: Any
    ) -> "BulkLoad":
        """Straight into the destination. The caller holds the dataset's row lock: no other
        upload writes to it meanwhile."""
        held = await session.scalar(
            sa.select(sa.literal_column("tableoid")).where(destination.scope()).limit(1)
        )
        if held is not None:  # the table, or the dataset's partition, that holds its rows
            await analyze_if_stale(session, held)
        bulk = cls(session, destination, direct=True, replacing=held is not None)
        await bulk.start(holder_org_id, batch_id)
        return bulk

    async def start(self, holder_org_id: Any = None, batch_id: Any = None) -> None:
        if self.direct:
            self._savepoint = await self.session.begin_nested()
            self._batch_id = batch_id
            constants = {**self.destination.columns(), "holder_org_id": holder_org_id}
            self._constants = (*constants.values(), batch_id)
            self._direct_columns = (*_COLUMNS[1:], *constants, "batch_id")
        else:
            await self.session.execute(
                sa.text(
                    f"CREATE TEMPORARY TABLE {self.name} (ordinal integer, record_key bytea, "
                    "kind smallint, key_version smallint, value bytea, updated_at date, "
                    "expires_on date) ON COMMIT DROP"
                )
            )
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        self._connection = raw.driver_connection  # asyncpg's own connection, same transaction

    async def copy(self, records: Sequence[tuple[int, IndexedRecord]]) -> None:
        if self.direct:
            await self._copy_direct(records)
            return
        rows = [
            (ordinal, r.record_key, SLOT_CODES[slot], r.key_version, value, r.updated_at,
             r.expires_on)
            for ordinal, r in records
            for slot, value in r.values.items()
        ]  # fmt: skip
        await self._connection.copy_records_to_table(self.name, records=rows, columns=_COLUMNS)

    async def _copy_direct(self, records: Sequence[tuple[int, IndexedRecord]]) -> None:
        if self.replacing:
            keys = [record.record_key for _, record in records]
            if len(set(keys)) != len(keys) or await self._replace(keys):
                raise RepeatedKeys()
        rows = [
            (r.record_key, SLOT_CODES[slot], r.key_version, value, r.updated_at, r.expires_on,
             *self._constants)
            for _, r in records
            for slot, value in r.values.items()
        ]  # fmt: skip
        try:
            await self._connection.copy_records_to_table(
                self.destination.table.name, records=rows, columns=self._direct_columns
            )
        except asyncpg.UniqueViolationError:  # a key and kind given twice
            raise RepeatedKeys() from None

    async def _replace(self, keys: Sequence[bytes]) -> bool:
        """Delete the destination's rows of these record keys, in one statement that also says
        whether any was written by this batch (an earlier chunk had the key: a repeat)."""
        table = self.destination.table
        gone = (
            sa.delete(table)
            .where(self.destination.scope(), table.c.record_key.in_(keys))
            .returning(table.c.batch_id)
            .cte("gone")
        )
        repeated = await self.session.scalar(
            sa.select(sa.func.bool_or(gone.c.batch_id == self._batch_id))
        )
        return bool(repeated)

    async def finish_direct(self, records: int) -> None:
        """After the last chunk of a direct copy of ``records`` records: into an empty
        destination, each under a key of its own, or RepeatedKeys (two records under one key
        with no kind in common break no constraint). The rows stay in the transaction."""
        if not self.replacing:
            table = self.destination.table
            keys = await self.session.scalar(
                sa.select(sa.func.count(sa.distinct(table.c.record_key))).where(
                    self.destination.scope()
                )
            )
            if keys != records:
                raise RepeatedKeys()
        await self._savepoint.commit()  # RELEASE SAVEPOINT

    async def staged(self) -> "BulkLoad":
        """Undo a direct copy (back to the savepoint) and start again through a staging table."""
        await self._savepoint.rollback()
        bulk = BulkLoad(self.session, self.destination)
        await bulk.start()
        return bulk

    async def repeated(self) -> list[int]:
        """Ordinals of records whose key an earlier record of the batch had."""
        staging = self.staging
        firsts = (
            sa.select(staging.c.record_key, sa.func.min(staging.c.ordinal).label("first"))
            .group_by(staging.c.record_key)
            .having(sa.func.count(sa.distinct(staging.c.ordinal)) > 1)
            .subquery()
        )
        rows = await self.session.execute(
            sa.select(staging.c.ordinal)
            .join(firsts, firsts.c.record_key == staging.c.record_key)
            .where(staging.c.ordinal != firsts.c.first)
            .distinct()
            .order_by(staging.c.ordinal)
        )
        return list(rows.scalars())

    async def merge(self, holder_org_id: Any, batch_id: Any) -> None:
        """The destination's rows for these records are replaced, in two statements."""
        staging, destination = self.staging, self.destination
        table = destination.table
        keys = sa.select(staging.c.record_key).distinct()
        await self.session.execute(
            sa.delete(table).where(destination.scope(), table.c.record_key.in_(keys))
        )
        constants = {
            **destination.columns(),
            "holder_org_id": holder_org_id,
            "batch_id": batch_id,
        }
        copied = [c for c in _COLUMNS if c != "ordinal"]
        select = sa.select(
            *(staging.c[name] for name in copied),
            *(
                sa.literal(value, type_=table.c[name].type).label(name)
                for name, value in constants.items()
            ),
        )
        await self.session.execute(sa.insert(table).from_select([*copied, *constants], select))
