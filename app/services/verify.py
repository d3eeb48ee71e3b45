"""Verify: the request charged against the buyer's quota, index values looked up, verdicts given,
the usage event written: all in the request's one transaction, which the route begins only once
the records are normalised and signed (so SQLite's write lock is never held for that)."""

from datetime import UTC
from datetime import datetime

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import StoreUnavailable
from app.services.audit import audit
from app.services.metering import charge
from app.services.metering import record_usage
from app.services.principals import Principal
from matching import Judgement
from matching import Probe
from matching import Usage
from matching import judge
from matching import lookup
from matching import probe_values
from matching import tally
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Endpoint


async def verify(
    session: AsyncSession,
    buyer: Principal,
    endpoint: Endpoint,
    purpose: str,
    probes: list[Probe],
) -> tuple[list[Judgement], Usage]:
    now = datetime.now(UTC)
    billable = sum(1 for probe in probes if probe.values)
    try:
        await charge(session, buyer, billable, now)
        hits = await lookup(session, probe_values(probes), now.date())
        verdicts = [judge(probe, hits) for probe in probes]
        usage = tally(verdicts)
        event = await record_usage(session, buyer, endpoint, purpose, usage, now)
        await audit(
            session,
            buyer,
            AuditAction(f"verify.{endpoint}"),
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
