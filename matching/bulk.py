"""Bulk uploads on PostgreSQL: records are copied by binary COPY straight into the destination,
inside a savepoint, and a record key given twice sends the upload the staging way instead (the
savepoint rolled back; a temporary table by COPY, then one set-based merge, which names every
repeat). No INSERT per row, no ORM object per record, and nothing kept in memory but the chunk
being copied.

The direct way takes two passes over the spooled upload. First its record keys, chunk by chunk,
into a temporary table whose primary key refuses a repeat (a key twice anywhere in the upload,
whatever its kinds); into a destination that already holds records, each chunk also deletes the
rows its keys had (an upload replaces a record's rows). Then every row in one COPY, fed chunk by
chunk as PostgreSQL takes them in: Python builds the next rows while the server inserts the last
(one COPY a chunk left the server idle while each chunk's rows were built, about a tenth of the
time). The delete is planned from the statistics of the table or partition that holds the
dataset: counted (nearly) empty, PostgreSQL reads all of the dataset's keys for each chunk
instead of the chunk's own, so it is not run on an empty destination, and a destination whose
statistics lag a tenth behind is analysed first.

SQLite has no COPY: index.replace_records serves it, chunk by chunk.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from collections.abc import Iterable
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
        self._constants: tuple[Any, ...] = ()
        self._direct_columns: tuple[str, ...] = ()
        self._keys = ""  # direct: the temporary table of the upload's record keys
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
            constants = {**self.destination.columns(), "holder_org_id": holder_org_id}
            self._constants = (*constants.values(), batch_id)
            self._direct_columns = (*_COLUMNS[1:], *constants, "batch_id")
            self._keys = f"{self.name}_keys"
            await self.session.execute(
                sa.text(
                    f"CREATE TEMPORARY TABLE {self._keys} (record_key bytea PRIMARY KEY)"
                    " ON COMMIT DROP"
                )
            )
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

    async def claim(self, keys: Sequence[bytes]) -> None:
        """Direct, first pass: a chunk's record keys, held against every key of the upload so
        far (RepeatedKeys on a repeat); into a destination that held records, the rows these
        keys had are deleted."""
        try:
            await self._connection.copy_records_to_table(
                self._keys, records=[(key,) for key in keys]
            )
        except asyncpg.UniqueViolationError:
            raise RepeatedKeys() from None
        if self.replacing:
            table = self.destination.table
            await self.session.execute(
                sa.delete(table).where(self.destination.scope(), table.c.record_key.in_(keys))
            )

    async def copy_all(self, chunks: Iterable[Sequence[tuple[int, IndexedRecord]]]) -> None:
        """Direct, second pass: every row of the upload in one COPY. The event loop gets a turn
        between chunks, so that other requests of this process wait for one chunk at most."""

        async def rows() -> AsyncIterator[tuple[Any, ...]]:
            for chunk in chunks:
                for _, r in chunk:
                    for slot, value in r.values.items():
                        yield (r.record_key, SLOT_CODES[slot], r.key_version, value,
                               r.updated_at, r.expires_on, *self._constants)  # fmt: skip
                await asyncio.sleep(0)

        await self._connection.copy_records_to_table(
            self.destination.table.name, records=rows(), columns=self._direct_columns
        )

    async def copy(self, records: Sequence[tuple[int, IndexedRecord]]) -> None:
        """Staging: a chunk's rows into the staging table, with the record's ordinal."""
        rows = [
            (ordinal, r.record_key, SLOT_CODES[slot], r.key_version, value, r.updated_at,
             r.expires_on)
            for ordinal, r in records
            for slot, value in r.values.items()
        ]  # fmt: skip
        await self._connection.copy_records_to_table(self.name, records=rows, columns=_COLUMNS)

    async def finish_direct(self) -> None:
        """After the second pass: the rows stay in the transaction."""
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
