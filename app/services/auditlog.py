"""Reading the audit log: everything for admins; for a holder, what concerns it."""

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.models import Dataset
from app.models import UsageCredit
from app.services.pages import FIRST_PAGE
from app.services.pages import PageRequest
from app.services.pages import page
from schemas.vocabulary import AuditAction

#: The log's order, newest first (the id breaks ties).
_NEWEST = (AuditEvent.at, AuditEvent.id)


async def entries(
    session: AsyncSession,
    *,
    org_id: UUID | None = None,
    action: AuditAction | None = None,
    dataset_id: UUID | None = None,
    start: date | None = None,
    end: date | None = None,
    asked: PageRequest = FIRST_PAGE,
) -> tuple[list[AuditEvent], bool]:
    """Newest first: a page of them, and whether more follow."""
    query = sa.select(AuditEvent)
    if org_id is not None:
        query = query.where(AuditEvent.org_id == org_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if dataset_id is not None:
        query = query.where(AuditEvent.dataset_id == dataset_id)
    if start is not None:
        query = query.where(AuditEvent.at >= datetime.combine(start, time(), UTC))
    if end is not None:
        query = query.where(AuditEvent.at < datetime.combine(end, time(), UTC))
    return await page(session, query, _NEWEST, asked, descending=True)


async def holder_entries(
    session: AsyncSession, holder_id: UUID, asked: PageRequest = FIRST_PAGE
) -> tuple[list[AuditEvent], bool]:
    """Its own actions, anything about its datasets, and the verify requests its data answered:
    those with their counts only, not who asked (buyers stay unnamed to holders)."""
    own_datasets = sa.select(Dataset.id).where(Dataset.org_id == holder_id)
    answered = sa.select(UsageCredit.event_id).where(UsageCredit.holder_org_id == holder_id)
    query = sa.select(AuditEvent).where(
        sa.or_(
            AuditEvent.org_id == holder_id,
            AuditEvent.dataset_id.in_(own_datasets),
            AuditEvent.event_id.in_(answered),
        )
    )
    found, more = await page(session, query, _NEWEST, asked, descending=True)
    return [event if event.org_id == holder_id else _unnamed(event) for event in found], more


def _unnamed(event: AuditEvent) -> AuditEvent:
    """A copy without who acted, never added to the session (so never written)."""
    columns = {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}
    return AuditEvent(**(columns | {"org_id": None, "key_id": None}))


#: The platform's objections (every holder's records are checked against them) and a holder's
#: own forwarded ones.
_OPTOUTS = (AuditAction.OPTOUT_ADD, AuditAction.OPTOUT_BULK)


async def optouts_seen(session: AsyncSession, holder_id: UUID, limit: int = 50) -> list[AuditEvent]:
    """The objections that reach a holder's data, newest first: the platform's (who made them
    unnamed) and those it forwarded itself; counts only, never a value."""
    query = (
        sa.select(AuditEvent)
        .where(
            sa.or_(
                AuditEvent.action.in_(list(_OPTOUTS)),
                sa.and_(
                    AuditEvent.action == AuditAction.OPTOUT_FORWARD,
                    AuditEvent.org_id == holder_id,
                ),
            )
        )
        .order_by(*(column.desc() for column in _NEWEST))
        .limit(limit)
    )
    found = await session.scalars(query)
    return [event if event.org_id == holder_id else _unnamed(event) for event in found]
