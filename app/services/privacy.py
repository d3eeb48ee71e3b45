"""Privacy lifecycle: objections (opt-outs) and retention purges."""

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.errors import detail
from app.errors import unknown_versions
from app.models import Dataset
from app.services.audit import audit
from app.services.principals import Principal
from matching import KeyRing
from matching import add_optouts
from matching import optout_values
from matching import purge_expired
from schemas.vocabulary import AuditAction
from signatures import normalize_record


async def opt_out_raw(
    session: AsyncSession,
    actor: Principal | None,
    keyring: KeyRing,
    email: str | None,
    phone: str | None,
    country: str | None,
) -> int:
    """A person's objection: normalised by the spec, kept as index values of every live key
    version (the raw values go); from now on no check on that email or phone matches."""
    normalized = normalize_record({"email": email, "phone": phone, "country": country})
    if "email" not in normalized.fields and "phone" not in normalized.fields:
        fields = [name for name in ("email", "phone") if name in normalized.invalid]
        raise InvalidInput(
            "an opt-out needs a valid email or phone",
            details=[detail((field,), "invalid") for field in fields or ["email"]],
        )
    org_id = actor.org_id if actor is not None else None
    values = await add_optouts(session, org_id, optout_values(normalized.fields, keyring))
    await audit(session, actor, AuditAction.OPTOUT_ADD, index_values=values)
    return values


async def opt_out_bulk(
    session: AsyncSession, keyring: KeyRing, rows: Iterable[Mapping[str, str | None]]
) -> tuple[int, int]:
    """Objections from a file (`idcheck admin optout`): the rows with a valid email or phone are
    kept, the others counted; returns (kept, skipped)."""
    kept = skipped = 0
    values: list[tuple[str, int, bytes]] = []
    for row in rows:
        found = optout_values(normalize_record(row).fields, keyring)
        kept += bool(found)
        skipped += not found
        values += found
    await add_optouts(session, None, values)
    await audit(session, None, AuditAction.OPTOUT_BULK, records=kept, skipped=skipped)
    return kept, skipped


async def opt_out_signed(
    session: AsyncSession,
    holder: Principal,
    keyring: KeyRing,
    records: list[tuple[int, dict[str, str]]],
) -> int:
    """Objections a holder received, as signatures computed locally: they reach every holder."""
    unknown = unknown_versions(keyring, ([record] for record in records))
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
    kept = await add_optouts(session, holder.org_id, values)
    await audit(
        session, holder, AuditAction.OPTOUT_FORWARD, records=len(records), index_values=kept
    )
    return kept


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
        await audit(session, None, AuditAction.RECORDS_PURGE, dataset_id=dataset_id, purged=count)
    return purged
