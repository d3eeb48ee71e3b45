"""Blind evaluations: each organisation's monthly quota of them, counted exactly, and their usage.

An evaluation is not a verified record and is billed to no one; it is counted because every
signature in blind mode costs one, so the quota is what stops a client from building a
dictionary of signatures. The month's counter is raised by a conditional UPDATE in the request's
transaction (the pattern of metering.charge): concurrent requests of one organisation serialise
on that row and the quota holds exactly; over it, 429 quota_exceeded and nothing is counted.

The quota is the one an admin set, else the default: the allowance (IDCHECK_EVALUATION_ALLOWANCE)
or, for a holder, 60 x the records it has uploaded when that is more, and for a buyer with a
verify quota, 60 x that quota (PER_RECORD: a record's kinds and the close forms of its names).
"""

from datetime import UTC
from datetime import datetime
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TooManyRequests
from app.models import Batch
from app.models import Dataset
from app.models import EvaluationDay
from app.models import EvaluationMonth
from app.models import Org
from app.services.audit import audit
from app.services.metering import month_of
from app.services.metering import seconds_to_next_month
from app.services.principals import Principal
from matching.base import insert_or_skip
from schemas.vocabulary import AuditAction
from schemas.vocabulary import ErrorCode
from schemas.vocabulary import Role

#: Evaluations a month per record, by default: a holder's per record it uploaded, a buyer's per
#: record of its verify quota. Signing a record with every field blind takes 6 for its kinds and
#: about 42 for the close forms of its names (102 at the very most: spec section 8).
PER_RECORD: Final = 60


def _default(org: Org, allowance: int) -> int:
    """The default quota of a buyer, or of a finance or admin organisation (never used)."""
    if org.role == Role.BUYER and org.monthly_quota is not None:
        return org.monthly_quota * PER_RECORD
    return allowance


async def _holder_default(session: AsyncSession, org: Org, allowance: int) -> int:
    """PER_RECORD x the records the holder has uploaded (every batch counts, a re-push too: the
    re-push to a new key version is when evaluations are needed), or the allowance when more.
    A sum over its batches: cheap, unlike counting its records in the signature index."""
    uploaded = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Batch.records), 0))
        .join(Dataset, Dataset.id == Batch.dataset_id)
        .where(Dataset.org_id == org.id)
    )
    return max(allowance, PER_RECORD * int(uploaded or 0))


async def quota(session: AsyncSession, org: Org, allowance: int) -> int:
    """What holds this month: the quota set, else the default."""
    if org.monthly_evaluation_quota is not None:
        return org.monthly_evaluation_quota
    if org.role == Role.HOLDER:
        return await _holder_default(session, org, allowance)
    return _default(org, allowance)


async def charge_evaluations(
    session: AsyncSession, actor: Principal, count: int, allowance: int, now: datetime
) -> None:
    """Count ``count`` evaluations against the organisation's month, or refuse (429)."""
    org = await session.get_one(Org, actor.org_id, with_for_update={"read": True})
    month = month_of(now)
    await session.execute(
        insert_or_skip(session, EvaluationMonth).values(org_id=org.id, month=month, evaluations=0)
    )
    limit = await quota(session, org, allowance)
    raised = await _raise_month(session, org.id, month, count, limit)
    if not raised:
        raise TooManyRequests(
            f"these {count:,} evaluations would pass the monthly evaluation quota of {limit:,}: "
            "nothing was answered or counted",
            code=ErrorCode.QUOTA_EXCEEDED,
            headers={"Retry-After": str(seconds_to_next_month(now))},
        )
    day = now.astimezone(UTC).date()
    await session.execute(
        insert_or_skip(session, EvaluationDay).values(org_id=org.id, day=day, evaluations=0)
    )
    await session.execute(
        sa.update(EvaluationDay)
        .where(EvaluationDay.org_id == org.id, EvaluationDay.day == day)
        .values(evaluations=EvaluationDay.evaluations + count)
        .execution_options(synchronize_session=False)
    )


async def _raise_month(
    session: AsyncSession, org_id: UUID, month: str, count: int, limit: int
) -> bool:
    counter = EvaluationMonth.evaluations
    result = await session.execute(
        sa.update(EvaluationMonth)
        .where(EvaluationMonth.org_id == org_id, EvaluationMonth.month == month)
        .where(counter + count <= limit)
        .values(evaluations=counter + count)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for an UPDATE


async def set_evaluation_quota(
    session: AsyncSession, actor: Principal | None, org: Org, monthly: int | None
) -> None:
    """An organisation's monthly evaluations (None: back to the default)."""
    org.monthly_evaluation_quota = monthly
    await session.flush()
    if monthly is None:
        await audit(session, actor, AuditAction.EVALUATION_QUOTA_RESET, object_type="org",
                    object_id=org.id)  # fmt: skip
    else:
        await audit(session, actor, AuditAction.EVALUATION_QUOTA_SET, object_type="org",
                    object_id=org.id, monthly_evaluations=monthly)  # fmt: skip
