"""Bulk uploads on PostgreSQL: records stream into a temporary table by binary COPY, then one
set-based merge replaces the destination's rows. No INSERT per row, no ORM object per record, and
nothing kept in memory but the chunk being copied.

SQLite has no COPY: index.replace_records serves it, chunk by chunk.
"""

import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.index import Destination
from matching.index import IndexedRecord
from signatures import KIND_CODES

_COLUMNS = ("ordinal", "record_key", "kind", "key_version", "value", "updated_at", "expires_on")


class BulkLoad:
    """One upload's staging table, in the caller's transaction (dropped at its end)."""

    def __init__(self, session: AsyncSession, destination: Destination) -> None:
        self.session = session
        self.destination = destination
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

    async def start(self) -> None:
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
        rows = [
            (ordinal, r.record_key, KIND_CODES[kind], r.key_version, value, r.updated_at,
             r.expires_on)
            for ordinal, r in records
            for kind, value in r.values.items()
        ]  # fmt: skip
        await self._connection.copy_records_to_table(self.name, records=rows, columns=_COLUMNS)

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
