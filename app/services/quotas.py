"""Where an organisation stands against its monthly quotas: what it may use, has used, has left.

Read by a buyer or holder (in /v1/usage/me) and by an admin (GET /v1/admin/orgs/{id}/quota). The
used records come from the month's live usage events (what the quota is held to, exactly); the
used evaluations from the evaluation counter.
"""

from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import EvaluationMonth
from app.models import Org
from app.models import UsageEvent
from app.services import evaluations
from app.services.metering import month_of
from app.services.usage import period_bounds
from schemas.vocabulary import Period


async def quota_status(
    session: AsyncSession, org: Org, allowance: int, now: datetime
) -> dict[str, Any]:
    """schemas.usage.QuotaStatus's fields, for ``org`` in the month of ``now`` (UTC)."""
    month = month_of(now)
    used_records = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(UsageEvent.billable_records), 0)).where(
            UsageEvent.buyer_org_id == org.id,
            UsageEvent.month == month,
            UsageEvent.test.is_(False),
        )
    )
    used_evaluations = await session.scalar(
        sa.select(EvaluationMonth.evaluations).where(
            EvaluationMonth.org_id == org.id, EvaluationMonth.month == month
        )
    )
    monthly_evaluations = await evaluations.quota(session, org, allowance)
    used_records, used_evaluations = int(used_records or 0), int(used_evaluations or 0)
    _, next_month = period_bounds(Period.THIS_MONTH, now.astimezone(UTC).date())
    return {
        "month": month,
        "monthly_records": org.monthly_quota,
        "used_records": used_records,
        "remaining_records": (
            None if org.monthly_quota is None else max(org.monthly_quota - used_records, 0)
        ),
        "monthly_evaluations": monthly_evaluations,
        "used_evaluations": used_evaluations,
        "remaining_evaluations": max(monthly_evaluations - used_evaluations, 0),
        "resets_at": datetime(next_month.year, next_month.month, 1, tzinfo=UTC),
    }
