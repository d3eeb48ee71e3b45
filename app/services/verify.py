"""Verify: the request charged against the buyer's quota, index values looked up, verdicts given,
the usage event written: all in the request's one transaction, which the route begins only once
the records are normalised and signed (so SQLite's write lock is never held for that).

The event, its credits (by holder and by dataset) and the audit entry are written together: on
PostgreSQL in one statement (the first inserts as data-modifying WITH clauses), so one round
trip; on SQLite, one after another. With the charge, the lookup and the commit, a verify is
four statements after BEGIN, five when close forms of names are looked up: those of the pair
kinds that did not match exactly, once the kinds' own values are known (most close forms sign a
contact point: where it is unknown, they cannot match; so they cost nothing then).

With replicas (app/replicas.py), the lookups run on one of them, each a statement of its own;
the charge and the writes stay in the request's transaction on the primary."""

from collections.abc import Awaitable
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol
from uuid import UUID

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import StoreUnavailable
from app.models import AuditEvent
from app.models import UsageCredit
from app.models import UsageDatasetCredit
from app.models import UsageEvent
from app.services.audit import audit_row
from app.services.metering import charge
from app.services.metering import usage_rows
from app.services.principals import Principal
from app.services.sandbox import SANDBOX_ORG_ID
from matching import Hits
from matching import Judgement
from matching import KeyRing
from matching import Probe
from matching import Usage
from matching import close_values
from matching import judge
from matching import lookup
from matching import probe_values
from matching import tally
from matching.base import Base
from matching.base import on_postgresql
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Endpoint


class Reads(Protocol):
    """Where read statements run: ``work`` on a replica's session, or on ``primary``."""

    async def read(
        self, work: Callable[[AsyncSession], Awaitable[Hits]], primary: AsyncSession
    ) -> Hits: ...


async def verify(
    session: AsyncSession,
    buyer: Principal,
    endpoint: Endpoint,
    purpose: str,
    probes: list[Probe],
    keyring: KeyRing,
    reads: Reads,
) -> tuple[list[Judgement], Usage, UUID]:
    """The verdicts, the usage, and the id of the usage event that bills it. ``reads`` runs the
    lookups: on a replica, or on ``session`` (app/replicas.py)."""
    now = datetime.now(UTC)
    billable = sum(1 for probe in probes if probe.values)
    try:
        if not buyer.test:  # a test key's verifies are never billed
            await charge(session, buyer, billable, now)
        hits = await _lookup(session, reads, buyer, probe_values(probes), now)
        # Then the close forms of what did not match exactly (the names written another way).
        if close := close_values(probes, hits, keyring):
            hits.update(await _lookup(session, reads, buyer, close, now))
        verdicts = [judge(probe, hits) for probe in probes]
        usage = tally(verdicts)
        event, credits, dataset_credits = usage_rows(buyer, endpoint, purpose, usage, now)
        entry = audit_row(
            buyer,
            AuditAction(f"verify.{endpoint}"),
            event_id=event["id"],
            records=usage.records,
            billable_records=usage.billable_records,
            matched_records=usage.matched_records,
        )
        await _insert(
            session,
            (UsageEvent, [event]),
            (UsageCredit, credits),
            (UsageDatasetCredit, dataset_credits),
            (AuditEvent, [entry]),
        )
    except sqlalchemy.exc.DBAPIError as error:
        # Nothing a verify writes can conflict with anything: a refusal from the store means it
        # cannot meter, so nothing is answered (and the transaction rolls back: nothing billed).
        raise StoreUnavailable() from error
    return verdicts, usage, event["id"]


async def _lookup(
    session: AsyncSession, reads: Reads, buyer: Principal, values: set[bytes], now: datetime
) -> Hits:
    """Live data for a live key, the sandbox's for a test key."""

    async def work(reader: AsyncSession) -> Hits:
        return await lookup(
            reader, values, now.date(), sandbox_holder=SANDBOX_ORG_ID, in_sandbox=buyer.test
        )

    return await reads.read(work, session)


async def _insert(session: AsyncSession, *inserts: tuple[type[Base], list[dict[str, Any]]]) -> None:
    """Rows into their tables, in this order (a row may refer to an earlier one), a one-row
    INSERT each: SQLAlchemy caches the compiled form of a one-row VALUES, never of a multi-row
    one (it compiled the verify's statement afresh on every request: a sixth of a worker's
    time under single-record load)."""
    statements = [sa.insert(model).values(row) for model, rows in inserts for row in rows]
    if on_postgresql(session):
        # The first ones run as WITH clauses of the last: PostgreSQL runs every data-modifying
        # WITH clause, and checks foreign keys at the statement's end, when all rows are in.
        *first, last = statements
        statements = [last.add_cte(*(one.cte(f"w{i}") for i, one in enumerate(first)))]
    for statement in statements:
        await session.execute(statement)
