"""Objections: kept as index values of the email and phone kinds, never as raw values."""

from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from matching.base import insert_or_skip
from matching.keyring import KeyRing
from matching.tables import optouts
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
