"""Objections: kept as index values of the email and phone kinds, never as raw values."""

from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from matching.base import insert_or_skip
from matching.keyring import KeyRing
from matching.tables import optouts
from matching.tables import signature_index
from signatures import CONTACT_KINDS
from signatures import KIND_CODES


def optout_values(fields: dict[str, str], keyring: KeyRing) -> list[tuple[str, int, bytes]]:
    """(kind, key version, index value) of a normalised email and/or phone, every live version."""
    contact = {name: value for name, value in fields.items() if name in CONTACT_KINDS}
    values = []
    for version in keyring.versions:
        for kind, signature in keyring.sign_fields(version, contact).items():
            values.append((kind, version, keyring.index_value(version, bytes.fromhex(signature))))
    return values


async def add_optouts(
    session: AsyncSession, org_id: UUID | None, values: Iterable[tuple[str, int, bytes]]
) -> int:
    """Record objections (a repeat is no error); returns how many index values were given."""
    rows = [
        {
            "value": value,
            "kind": KIND_CODES[kind],
            "key_version": version,
            "org_id": org_id,
            "created_at": datetime.now(UTC),
        }
        for kind, version, value in values
    ]
    if not rows:
        return 0
    await session.execute(insert_or_skip(session, optouts), rows)
    return len(rows)


async def withheld_records(session: AsyncSession, dataset_id: UUID) -> int:
    """How many of a dataset's records an objection withholds (its e-mail or phone signature
    is opted out): they stay stored but match nothing."""
    index = signature_index
    count = await session.scalar(
        sa.select(sa.func.count(sa.distinct(index.c.record_key))).where(
            index.c.dataset_id == dataset_id,
            index.c.kind.in_([KIND_CODES[kind] for kind in CONTACT_KINDS]),
            index.c.value.in_(sa.select(optouts.c.value)),
        )
    )
    return int(count or 0)
