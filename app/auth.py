"""API keys: made, stored hashed, checked in constant time; roles checked on every route."""

import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from uuid import UUID

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, Unauthenticated
from app.models import ApiKey, Org
from matching import KeyRing

KEY_PATTERN: Final = re.compile(r"idc_(admin|holder|buyer|finance)_([0-9a-f]{40})")
_PREFIX_CHARS: Final = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling: an organisation, its role, and the key it used."""

    org_id: UUID
    org_name: str
    role: str
    key_id: UUID


@dataclass(frozen=True)
class NewKey:
    key: str
    prefix: str
    hash: bytes


def make_key(role: str, keyring: KeyRing) -> NewKey:
    """``idc_<role>_`` then 160 random bits in hex; only the keyed hash is stored."""
    key = f"idc_{role}_{secrets.token_hex(20)}"
    return NewKey(key=key, prefix=key_prefix(key), hash=keyring.api_key_hash(key))


def key_prefix(key: str) -> str:
    role_end = key.index("_", len("idc_")) + 1
    return key[: role_end + _PREFIX_CHARS]


async def find_principal(session: AsyncSession, keyring: KeyRing, token: str) -> Principal:
    if not KEY_PATTERN.fullmatch(token):
        raise Unauthenticated()
    row = (
        await session.execute(
            sa.select(ApiKey.id, ApiKey.hash, Org.id, Org.name, Org.role)
            .join(Org, Org.id == ApiKey.org_id)
            .where(ApiKey.prefix == key_prefix(token), ApiKey.revoked_at.is_(None))
        )
    ).one_or_none()
    presented = keyring.api_key_hash(token)
    stored = row[1] if row is not None else bytes(len(presented))
    if not hmac.compare_digest(presented, stored) or row is None:
        raise Unauthenticated()
    key_id, _, org_id, org_name, role = row
    if not token.startswith(f"idc_{role}_"):
        raise Unauthenticated()
    return Principal(org_id=org_id, org_name=org_name, role=role, key_id=key_id)


async def authenticate(request: Request) -> Principal:
    """The caller, found once per request, in a short read of its own: the connection goes back
    to the pool before the body is read (TransactionalRoute authenticates first)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated()
    keyring = request.app.state.keyring
    async with request.app.state.read_sessionmaker() as session:
        principal = await find_principal(session, keyring, token.strip())
    request.app.state.rate_limiter.take(principal.key_id)
    request.state.principal = principal
    return principal


def check_role(principal: Principal, roles: Sequence[str]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this route is for {' or '.join(roles)} keys")


def require(*roles: str) -> Any:
    """A dependency that lets only these roles through (403 for the others). The route class
    reads ``roles`` to check them before the body is read."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        check_role(principal, roles)
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return Depends(check)


AdminPrincipal = Annotated[Principal, require("admin")]
HolderPrincipal = Annotated[Principal, require("holder")]
BuyerPrincipal = Annotated[Principal, require("buyer")]
ClientPrincipal = Annotated[Principal, require("holder", "buyer")]
