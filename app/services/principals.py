"""API keys and who holds them: keys made, stored as keyed hashes, found in constant time."""

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unauthenticated
from app.models import ApiKey
from app.models import Org
from app.services.sandbox import SANDBOX_ORG_ID
from matching import KeyRing
from schemas.vocabulary import Role

KEY_PATTERN: Final = re.compile(rf"idc_({'|'.join(Role)})_(test_)?([0-9a-f]{{40}})")
#: What a test key's name holds after its role.
TEST_MARK: Final = "test_"
_PREFIX_CHARS: Final = 8


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an organisation, its role, and the key it used (a test key sees the
    sandbox only: app/services/sandbox.py)."""

    org_id: UUID
    org_name: str
    role: str
    key_id: UUID
    test: bool = False

    @property
    def data_org_id(self) -> UUID:
        """Whose datasets the caller sees: its own, or the sandbox's with a test key."""
        return SANDBOX_ORG_ID if self.test else self.org_id


@dataclass(frozen=True)
class NewKey:
    key: str
    prefix: str
    hash: bytes


def make_key(role: str, keyring: KeyRing, *, test: bool = False) -> NewKey:
    """``idc_<role>_`` (``idc_<role>_test_`` for a test key) then 160 random bits in hex; only
    the keyed hash is stored."""
    key = f"idc_{role}_{TEST_MARK if test else ''}{secrets.token_hex(20)}"
    return NewKey(key=key, prefix=key_prefix(key), hash=keyring.api_key_hash(key))


def key_prefix(key: str) -> str:
    role_end = key.index("_", len("idc_")) + 1
    if key.startswith(TEST_MARK, role_end):
        role_end += len(TEST_MARK)
    return key[: role_end + _PREFIX_CHARS]


_BY_PREFIX: Final = (
    sa.select(ApiKey.id, ApiKey.hash, Org.id, Org.name, Org.role, ApiKey.test)
    .join(Org, Org.id == ApiKey.org_id)
    .where(ApiKey.prefix == sa.bindparam("prefix"), ApiKey.revoked_at.is_(None))
)


async def find_principal(session: AsyncSession, keyring: KeyRing, token: str) -> Principal:
    if not KEY_PATTERN.fullmatch(token):
        raise Unauthenticated()
    row = (await session.execute(_BY_PREFIX, {"prefix": key_prefix(token)})).one_or_none()
    presented = keyring.api_key_hash(token)
    stored = row[1] if row is not None else bytes(len(presented))
    if not hmac.compare_digest(presented, stored) or row is None:
        raise Unauthenticated()
    key_id, _, org_id, org_name, role, test = row
    if not token.startswith(f"idc_{role}_{TEST_MARK if test else ''}"):
        raise Unauthenticated()
    return Principal(org_id=org_id, org_name=org_name, role=role, key_id=key_id, test=test)
