"""Metering: each verify request is one usage event, with a credit per holder that confirmed.

All of it happens in the request's transaction, committed before the response leaves: the quota
counter is raised first (a conditional UPDATE that serialises a buyer's concurrent requests on one
row, across every worker), then the event and its credits are written. Over quota, the request
fails with 429 and the transaction rolls back: nothing billed.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.errors import TooManyRequests
from app.models import Org, UsageCredit, UsageEvent, UsageMonth
from matching import Usage


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def seconds_to_next_month(moment: datetime) -> int:
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int((datetime(year, month, 1, tzinfo=UTC) - moment).total_seconds()) + 1


async def charge(session: AsyncSession, buyer: Principal, billable: int, now: datetime) -> None:
    """Count ``billable`` records against the buyer's month, or refuse if its quota would break."""
    if billable == 0:
        return
    month = month_of(now)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(UsageMonth)
        .values(buyer_org_id=buyer.org_id, month=month, billable_records=0)
        .on_conflict_do_nothing()
    )
    quota = await session.scalar(sa.select(Org.monthly_quota).where(Org.id == buyer.org_id))
    counter = UsageMonth.billable_records
    raise_counter = (
        sa.update(UsageMonth)
        .where(UsageMonth.buyer_org_id == buyer.org_id, UsageMonth.month == month)
        .values(billable_records=counter + billable)
    )
    if quota is not None:
        raise_counter = raise_counter.where(counter + billable <= quota)
    result = await session.execute(raise_counter.execution_options(synchronize_session=False))
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        raise TooManyRequests(
            f"this request's {billable:,} billable records would pass the monthly quota of "
            f"{quota:,}: nothing was answered or billed",
            code="quota_exceeded",
            headers={"Retry-After": str(seconds_to_next_month(now))},
        )


async def record_usage(
    session: AsyncSession,
    buyer: Principal,
    endpoint: str,
    purpose: str,
    usage: Usage,
    now: datetime,
) -> UsageEvent:
    event = UsageEvent(
        buyer_org_id=buyer.org_id,
        api_key_id=buyer.key_id,
        created_at=now,
        day=now.astimezone(UTC).date(),
        month=month_of(now),
        endpoint=endpoint,
        purpose=purpose,
        records=usage.records,
        billable_records=usage.billable_records,
        matched_records=usage.matched_records,
    )
    session.add(event)
    await session.flush()
    session.add_all(
        UsageCredit(event_id=event.id, holder_org_id=holder, matched_records=count)
        for holder, count in sorted(usage.credits.items())
    )
    await session.flush()
    return event
