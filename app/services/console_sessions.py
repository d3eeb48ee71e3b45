"""Console sessions: an API key exchanged for a short-lived session at sign-in (app/console).

The browser holds a random token in an HttpOnly cookie; the store keeps only its keyed hash, the
key it acts as and when it ends. The key is never stored, in the store or in the browser. A
form's CSRF token is derived from the session's token (a keyed hash of it), so nothing more is
kept, and a token of one session is worth nothing in another.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey
from app.models import ConsoleSession
from app.models import Org
from app.services.principals import Principal
from matching import KeyRing

_CSRF_CONTEXT = "idcheck console csrf\x1f"


@dataclass(frozen=True, slots=True)
class Opened:
    """A session just made: the token for the browser's cookie, and when it ends."""

    token: str
    expires_at: datetime


async def open_session(
    session: AsyncSession, keyring: KeyRing, principal: Principal, ttl: timedelta
) -> Opened:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        ConsoleSession(
            token_hash=keyring.api_key_hash(token),
            api_key_id=principal.key_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return Opened(token=token, expires_at=now + ttl)


#: Who a live session acts as: its key, if not revoked, and the key's organisation (one read).
_BY_TOKEN = (
    sa.select(ApiKey.id, Org.id, Org.name, Org.role, ApiKey.test)
    .select_from(ConsoleSession)
    .join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
    .join(Org, Org.id == ApiKey.org_id)
    .where(
        ConsoleSession.token_hash == sa.bindparam("token_hash"),
        ConsoleSession.expires_at > sa.bindparam("now"),
        ApiKey.revoked_at.is_(None),
    )
)


async def find_session(session: AsyncSession, keyring: KeyRing, token: str) -> Principal | None:
    """Who a live session acts as: None for an unknown or expired token, or a revoked key."""
    if not token or len(token) > 64:
        return None
    bound = {"token_hash": keyring.api_key_hash(token), "now": datetime.now(UTC)}
    row = (await session.execute(_BY_TOKEN, bound)).one_or_none()
    if row is None:
        return None
    key_id, org_id, org_name, role, test = row
    return Principal(org_id=org_id, org_name=org_name, role=role, key_id=key_id, test=test)


async def close_session(session: AsyncSession, keyring: KeyRing, token: str) -> None:
    await session.execute(
        sa.delete(ConsoleSession).where(ConsoleSession.token_hash == keyring.api_key_hash(token))
    )


async def forget_expired_sessions(session: AsyncSession) -> int:
    """Sessions past their end go (housekeeping)."""
    result = await session.execute(
        sa.delete(ConsoleSession).where(ConsoleSession.expires_at <= datetime.now(UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def csrf_token(keyring: KeyRing, token: str) -> str:
    """The token every form of this session carries."""
    return keyring.api_key_hash(_CSRF_CONTEXT + token).hex()


def csrf_matches(keyring: KeyRing, token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(keyring, token).encode(), presented.encode())
