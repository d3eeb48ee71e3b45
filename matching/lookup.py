"""Looking index values up: which holders hold each one, and when they last updated it."""

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.index import chunks
from matching.tables import signature_index

#: index value -> {holder organisation: most recent updated_at of its matching records}
Hits = dict[bytes, dict[UUID, date]]


async def lookup(session: AsyncSession, values: Iterable[bytes]) -> Hits:
    """One query per chunk of values; values nobody holds are absent from the answer."""
    table = signature_index
    hits: Hits = {}
    for chunk in chunks(sorted(set(values))):
        rows = await session.execute(
            sa.select(table.c.value, table.c.holder_org_id, sa.func.max(table.c.updated_at))
            .where(table.c.value.in_(chunk))
            .group_by(table.c.value, table.c.holder_org_id)
        )
        for value, holder, last in rows:
            hits.setdefault(value, {})[holder] = last
    return hits
