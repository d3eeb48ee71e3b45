"""Privacy lifecycle: objections (opt-outs) and retention purges."""

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import audit
from app.errors import InvalidInput
from app.handlers import detail, unknown_versions
from app.models import Dataset
from matching import KeyRing, add_optouts, optout_values, purge_expired
from signatures import normalize_record


async def opt_out_raw(
    session: AsyncSession,
    keyring: KeyRing,
    org_id: UUID | None,
    email: str | None,
    phone: str | None,
    country: str | None,
) -> int:
    """Normalise by the spec, keep index values of every live key version; raw values go."""
    normalized = normalize_record({"email": email, "phone": phone, "country": country})
    if "email" not in normalized.fields and "phone" not in normalized.fields:
        fields = [name for name in ("email", "phone") if name in normalized.invalid]
        raise InvalidInput(
            "an opt-out needs a valid email or phone",
            details=[detail((field,), "invalid") for field in fields or ["email"]],
        )
    return await add_optouts(session, org_id, optout_values(normalized.fields, keyring))


async def opt_out_signed(
    session: AsyncSession,
    keyring: KeyRing,
    org_id: UUID,
    records: list[tuple[int, dict[str, str]]],
) -> int:
    unknown = unknown_versions(keyring, (version for version, _ in records))
    empty = [
        detail(("records", index, "signatures"), "an email or a phone signature")
        for index, (_, signatures) in enumerate(records)
        if not signatures
    ]
    if unknown or empty:
        raise InvalidInput("the objections are not valid; none was kept", details=unknown + empty)
    values = [
        (kind, version, keyring.index_value(version, bytes.fromhex(signature)))
        for version, signatures in records
        for kind, signature in signatures.items()
    ]
    return await add_optouts(session, org_id, values)


async def purge(session: AsyncSession) -> dict[UUID, int]:
    """Remove records past their retention; each dataset keeps the count and the time."""
    now = datetime.now(UTC)
    purged = await purge_expired(session, now.date())
    for dataset_id, count in purged.items():
        await session.execute(
            sa.update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(purged_records=Dataset.purged_records + count, last_purge_at=now)
        )
        await audit(session, None, "records.purge", dataset_id=dataset_id, purged=count)
    return purged
