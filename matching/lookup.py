"""Looking index values up: which holders hold each one (in which of their datasets), and when
they last updated it."""

from collections.abc import Iterable
from datetime import date
from typing import Final
from typing import NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import BYTEA
from sqlalchemy.ext.asyncio import AsyncSession

from matching.base import on_postgresql
from matching.index import chunks
from matching.tables import optouts
from matching.tables import signature_index
from signatures import CONTACT_KINDS
from signatures import KIND_CODES

#: Values per query on SQLite (under its bound of 32,766 variables); PostgreSQL takes any number in
#: one array. A verify of 1,000 records (6 kinds, 2 key versions) is one statement either way, and
#: one statement sees one state of the index: a snapshot swapped in meanwhile shows whole or not
#: at all.
LOOKUP_CHUNK: Final = 30_000


class Source(NamedTuple):
    """Where a value was found: a holder organisation, and which of its datasets."""

    holder: UUID
    dataset: UUID


#: index value -> {source: most recent updated_at of its matching records there}
Hits = dict[bytes, dict[Source, date]]


def _opted_out(table: sa.Table) -> sa.Exists:
    """The record of ``table``'s row has an email or phone signature somebody objected to."""
    contact = signature_index.alias("contact")
    return sa.exists().where(
        contact.c.dataset_id == table.c.dataset_id,
        contact.c.record_key == table.c.record_key,
        contact.c.kind.in_([KIND_CODES[kind] for kind in CONTACT_KINDS]),
        contact.c.value.in_(sa.select(optouts.c.value)),
    )


def _lookup(matches: sa.ColumnElement[bool], sandbox: bool) -> sa.Select[bytes, UUID, UUID, date]:
    table = signature_index
    holder = table.c.holder_org_id
    sandbox_holder = sa.bindparam("sandbox", type_=sa.Uuid)
    return (
        sa.select(table.c.value, holder, table.c.dataset_id, sa.func.max(table.c.updated_at))
        .where(matches, table.c.expires_on > sa.bindparam("today", type_=sa.Date))
        .where(holder == sandbox_holder if sandbox else holder != sandbox_holder)
        .where(~_opted_out(table))
        .group_by(table.c.value, holder, table.c.dataset_id)
    )


# Built once: a verify binds only its values, the day and the sandbox's holder (SQLAlchemy caches
# the compiled form). PostgreSQL: value = ANY($1::bytea[]), one bound array, one round trip
# whatever the batch. Indexed by "in the sandbox".
_ON_POSTGRESQL: Final = {
    sandbox: _lookup(
        signature_index.c.value == sa.any_(sa.bindparam("values", type_=ARRAY(BYTEA))), sandbox
    )
    for sandbox in (False, True)
}
_ON_SQLITE: Final = {
    sandbox: _lookup(signature_index.c.value.in_(sa.bindparam("values", expanding=True)), sandbox)
    for sandbox in (False, True)
}


async def lookup(
    session: AsyncSession,
    values: Iterable[bytes],
    today: date,
    *,
    sandbox_holder: UUID,
    in_sandbox: bool = False,
) -> Hits:
    """One query per chunk of values; values nobody holds are absent from the answer.

    Only live records count: not expired (``expires_on`` after today) and not opted out. Both are
    decided here, on the stored side, at each lookup: so a deletion, an expiry or an objection
    takes effect at once, for raw and signed verify alike. The sandbox's holder is the only one
    looked at ``in_sandbox`` (a test key's verify), and never otherwise.
    """
    hits: Hits = {}
    wanted = sorted(set(values))
    if not wanted:
        return hits
    statement: sa.Select[bytes, UUID, UUID, date]
    if on_postgresql(session):
        statement, batches = _ON_POSTGRESQL[in_sandbox], [wanted]
    else:
        statement, batches = _ON_SQLITE[in_sandbox], list(chunks(wanted, LOOKUP_CHUNK))
    for batch in batches:
        bound = {"values": batch, "today": today, "sandbox": sandbox_holder}
        rows = await session.execute(statement, bound)
        for value, holder, dataset, last in rows:
            hits.setdefault(value, {})[Source(holder, dataset)] = last
    return hits
