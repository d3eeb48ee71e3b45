"""Metering: each verify request is one usage event, with a credit per holder that confirmed.

Written in the request's transaction, so that the event and the answer stand or fall together.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.models import UsageCredit, UsageEvent
from matching import Usage


async def record_usage(
    session: AsyncSession, buyer: Principal, endpoint: str, purpose: str, usage: Usage
) -> UsageEvent:
    event = UsageEvent(
        buyer_org_id=buyer.org_id,
        api_key_id=buyer.key_id,
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
