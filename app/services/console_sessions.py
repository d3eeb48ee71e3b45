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

from app.models import ConsoleSession
from app.services.principals import Principal
from app.services.principals import principal_of_key
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


_BY_TOKEN = sa.select(ConsoleSession.api_key_id).where(
    ConsoleSession.token_hash == sa.bindparam("token_hash"),
    ConsoleSession.expires_at > sa.bindparam("now"),
)


async def find_session(session: AsyncSession, keyring: KeyRing, token: str) -> Principal | None:
    """Who a live session acts as: None for an unknown or expired token, or a revoked key."""
    if not token or len(token) > 64:
        return None
    found = await session.scalar(
        _BY_TOKEN, {"token_hash": keyring.api_key_hash(token), "now": datetime.now(UTC)}
    )
    return None if found is None else await principal_of_key(session, found)


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
