"""Verify: index values looked up in a read of their own, then, in the request's transaction, the
request charged against the buyer's quota, verdicts given and the usage event written.

The lookups come first and apart so that the work which writes (and on SQLite holds the one write
lock; on PostgreSQL, a buyer's quota row) is only the charge and the event."""

from datetime import UTC, datetime

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import audit
from app.auth import Principal
from app.errors import StoreUnavailable
from app.metering import charge, record_usage
from matching import Hits, Probe, Usage, Verdict, judge, lookup, probe_values, tally


async def look_up(reader: async_sessionmaker[AsyncSession], probes: list[Probe]) -> Hits:
    """What the index holds for the probes' values, today, in a short read session."""
    try:
        async with reader() as session:
            return await lookup(session, probe_values(probes), datetime.now(UTC).date())
    except sqlalchemy.exc.DBAPIError as error:
        raise StoreUnavailable() from error


async def verify(
    session: AsyncSession,
    buyer: Principal,
    endpoint: str,
    purpose: str,
    probes: list[Probe],
    hits: Hits,
) -> tuple[list[Verdict], Usage]:
    now = datetime.now(UTC)
    billable = sum(1 for probe in probes if probe.values)
    try:
        await charge(session, buyer, billable, now)
        verdicts = [judge(probe, hits) for probe in probes]
        usage = tally(verdicts)
        event = await record_usage(session, buyer, endpoint, purpose, usage, now)
        await audit(
            session,
            buyer,
            f"verify.{endpoint}",
            event_id=event.id,
            records=usage.records,
            billable_records=usage.billable_records,
            matched_records=usage.matched_records,
        )
    except sqlalchemy.exc.DBAPIError as error:
        # Nothing a verify writes can conflict with anything: a refusal from the store means it
        # cannot meter, so nothing is answered (and the transaction rolls back: nothing billed).
        raise StoreUnavailable() from error
    return verdicts, usage
