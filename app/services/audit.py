"""The audit log: one entry per admin action, upload, deletion, objection and verify.

Entries hold ids, an action and counts, never a raw value. They are written in the request's
transaction: an action that did not happen leaves no entry, and one that did always has one.
"""

import uuid
from datetime import UTC
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.services.principals import Principal
from schemas.vocabulary import AuditAction


async def audit(
    session: AsyncSession, actor: Principal | None, action: AuditAction, **entry: Any
) -> None:
    """Add an entry (``entry``: the keywords of ``audit_row``) and flush it."""
    session.add(AuditEvent(**audit_row(actor, action, **entry)))
    await session.flush()


def audit_row(
    actor: Principal | None,
    action: AuditAction,
    *,
    object_type: str | None = None,
    object_id: UUID | int | str | None = None,
    dataset_id: UUID | None = None,
    event_id: UUID | None = None,
    **counts: int,
) -> dict[str, Any]:
    """An entry's columns, every one given (for a caller that inserts it itself: verify)."""
    return {
        "id": uuid.uuid4(),
        "at": datetime.now(UTC),
        "org_id": actor.org_id if actor else None,
        "key_id": actor.key_id if actor else None,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "dataset_id": dataset_id,
        "event_id": event_id,
        "counts": counts,
    }
