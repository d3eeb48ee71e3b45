"""Idempotency-Key on writing POSTs: the same key and body replay the first answer, once stored.

- The key is scoped to the caller's organisation and kept at least IDCHECK_IDEMPOTENCY_HOURS.
- The request's digest covers its method, path and body; the same key with another -> 422.
- The answer is looked up when the request's work begins, after its body is read whole (so the
  digest is complete) and its role checked.
- A request whose key is still being served elsewhere -> 409 (PostgreSQL: a transaction-scoped
  advisory lock on the key; SQLite serialises writers, so the second sees the first's answer).
- The answer is stored, sealed, in the same transaction as the work it answers: both are committed
  or neither. Only successful answers are stored; a refused request may be sent again.
- Blind evaluations (NEVER_STORED) ignore the header: nothing of them is kept.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Final

import sqlalchemy as sa
from fastapi import Request
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from app.auth import authenticate
from app.errors import Conflict
from app.errors import InvalidInput
from app.models import IdempotencyRecord
from app.services.principals import Principal
from matching import KeyRing
from matching import on_postgresql
from schemas.vocabulary import ErrorCode

HEADER: Final = "idempotency-key"
#: Writing POSTs whose answers are never stored, so an Idempotency-Key is ignored: a blind
#: evaluation is a pure function of its input (a retry gets the same answer) and neither its
#: elements nor what became of them may be kept.
NEVER_STORED: Final = frozenset({"oprf_evaluate"})
MAX_KEY_LENGTH: Final = 255
_DIGEST: Final = "idcheck.body_digest"


class BodyDigest:
    """Middleware: a running SHA-256 of the body of POSTs that carry an Idempotency-Key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        has_key = any(name == HEADER.encode() for name, _ in scope.get("headers", ()))
        if scope["type"] != "http" or scope["method"] != "POST" or not has_key:
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256(f"{scope['method']} {scope['path']}\n".encode())
        scope[_DIGEST] = digest

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

        await self.app(scope, hashing_receive, send)


@dataclass
class Idempotency:
    key: str
    principal: Principal

    @classmethod
    async def of(cls, request: Request) -> "Idempotency | None":
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return None
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                f"Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters",
                details=[{"index": None, "field": "header.Idempotency-Key", "message": "invalid"}],
            )
        return cls(key=key, principal=await authenticate(request))

    def _context(self) -> bytes:
        return self.principal.org_id.bytes + self.key.encode()

    async def replay(
        self, session: AsyncSession, request: Request, keyring: KeyRing, ttl: timedelta
    ) -> Response | None:
        """The stored answer to replay, or None when this key is new; 409 or 422 (docs/api.md)."""
        if on_postgresql(session):
            lock = int.from_bytes(hashlib.blake2b(self._context(), digest_size=8).digest(), "big")
            lock -= 1 << 63  # a signed bigint
            taken = await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(lock)))
            if not taken:
                raise Conflict(
                    "a request with this Idempotency-Key is still running: retry later",
                    code=ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
                )
        stored = await session.get(IdempotencyRecord, (self.principal.org_id, self.key))
        if stored is None:
            return None
        if stored.created_at < datetime.now(UTC) - ttl:
            await session.delete(stored)
            await session.flush()
            return None
        if stored.request_digest != _digest(request):
            raise InvalidInput(
                "this Idempotency-Key was used with another request: use a new key",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
        body = keyring.unseal(stored.response, self._context())
        return Response(
            body,
            status_code=stored.status,
            media_type="application/json" if body else None,
            headers={"Idempotent-Replayed": "true"},
        )

    async def store(
        self, session: AsyncSession, request: Request, response: Response, keyring: KeyRing
    ) -> None:
        if not 200 <= response.status_code < 300:
            return
        session.add(
            IdempotencyRecord(
                org_id=self.principal.org_id,
                key=self.key,
                request_digest=_digest(request),
                status=response.status_code,
                response=keyring.seal(bytes(response.body), self._context()),
            )
        )
        await session.flush()


def _digest(request: Request) -> bytes:
    digest = request.scope.get(_DIGEST)
    if digest is None:
        raise RuntimeError("BodyDigest middleware is missing")
    return bytes(digest.digest())


async def forget_expired_answers(session: AsyncSession, ttl: timedelta) -> int:
    result = await session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < datetime.now(UTC) - ttl)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for a DELETE
