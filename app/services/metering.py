"""Metering: each verify request is one usage event, with a credit per holder that confirmed.

All of it happens in the request's transaction, committed before the response leaves. For a
buyer with a quota, the month's counter is raised first (a conditional UPDATE that serialises that
buyer's concurrent requests on one row, across every worker); then the event and its credits are
written. Over quota, the request fails with 429 and the transaction rolls back: nothing billed.

Buyers without a quota keep no counter, so their requests never wait for each other. Setting a
quota counts the month so far from the events; each verify reads the quota under a shared row lock
(PostgreSQL), so the quota's UPDATE waits for the verifies in flight and counts them too.
"""

import uuid
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TooManyRequests
from app.models import Org
from app.models import UsageEvent
from app.models import UsageMonth
from app.services.principals import Principal
from matching import Usage
from matching.base import insert_or_skip
from schemas.vocabulary import ErrorCode


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def seconds_to_next_month(moment: datetime) -> int:
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int((datetime(year, month, 1, tzinfo=UTC) - moment).total_seconds()) + 1


def _billed_in(buyer_id: UUID, month: str) -> sa.ScalarSelect[Any]:
    """What the events say a buyer was billed in a month."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(UsageEvent.billable_records), 0))
        .where(UsageEvent.buyer_org_id == buyer_id, UsageEvent.month == month)
        .scalar_subquery()
    )


async def count_month(session: AsyncSession, buyer_id: UUID, month: str, *, reset: bool) -> None:
    """Make sure the buyer's counter for ``month`` exists, counted from the events."""
    if reset:
        await session.execute(
            sa.delete(UsageMonth).where(
                UsageMonth.buyer_org_id == buyer_id, UsageMonth.month == month
            )
        )
    await session.execute(
        insert_or_skip(session, UsageMonth).values(
            buyer_org_id=buyer_id, month=month, billable_records=_billed_in(buyer_id, month)
        )
    )


_QUOTA: Final = (
    sa.select(Org.monthly_quota).where(Org.id == sa.bindparam("org")).with_for_update(read=True)
)


async def charge(session: AsyncSession, buyer: Principal, billable: int, now: datetime) -> None:
    """Count ``billable`` records against the buyer's month, or refuse if its quota would break."""
    quota = await session.scalar(_QUOTA, {"org": buyer.org_id})
    if billable == 0 or quota is None:
        return
    month = month_of(now)
    counter = UsageMonth.billable_records
    raise_counter = (
        sa.update(UsageMonth)
        .where(UsageMonth.buyer_org_id == buyer.org_id, UsageMonth.month == month)
        .where(counter + billable <= quota)
        .values(billable_records=counter + billable)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(raise_counter)
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        # Over quota, or the month's first charge: only then are the events counted.
        await count_month(session, buyer.org_id, month, reset=False)
        result = await session.execute(raise_counter)
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        raise TooManyRequests(
            f"this request's {billable:,} billable records would pass the monthly quota of "
            f"{quota:,}: nothing was answered or billed",
            code=ErrorCode.QUOTA_EXCEEDED,
            headers={"Retry-After": str(seconds_to_next_month(now))},
        )


def usage_rows(
    buyer: Principal, endpoint: str, purpose: str, usage: Usage, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A verify's usage event, its credits (one per holder that confirmed) and its dataset
    credits (one per dataset that confirmed), every column given, for the verify to insert with
    its audit entry."""
    event = {
        "id": uuid.uuid4(),
        "buyer_org_id": buyer.org_id,
        "api_key_id": buyer.key_id,
        "created_at": now,
        "day": now.astimezone(UTC).date(),
        "month": month_of(now),
        "endpoint": endpoint,
        "purpose": purpose,
        "records": usage.records,
        "billable_records": usage.billable_records,
        "matched_records": usage.matched_records,
        "test": buyer.test,
    }
    credits = [
        {"event_id": event["id"], "holder_org_id": holder, "matched_records": count}
        for holder, count in sorted(usage.credits.items())
    ]
    dataset_credits = [
        {
            "event_id": event["id"],
            "dataset_id": source.dataset,
            "holder_org_id": source.holder,
            "matched_records": count,
        }
        for source, count in sorted(usage.dataset_credits.items())
    ]
    return event, credits, dataset_credits
