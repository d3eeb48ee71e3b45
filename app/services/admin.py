"""Organisations and API keys."""

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import make_key
from app.errors import Conflict, NotFound
from app.metering import count_month, month_of
from app.models import ApiKey, Org
from matching import KeyRing


async def create_org(session: AsyncSession, name: str, role: str) -> Org:
    if await session.scalar(sa.select(Org.id).where(Org.name == name)) is not None:
        raise Conflict("an organisation of this name exists already")
    org = Org(name=name, role=role)
    session.add(org)
    await session.flush()
    return org


async def list_orgs(session: AsyncSession) -> list[Org]:
    return list(await session.scalars(sa.select(Org).order_by(Org.created_at, Org.name)))


async def get_org(session: AsyncSession, org_id: UUID) -> Org:
    org = await session.get(Org, org_id)
    if org is None:
        raise NotFound("no such organisation")
    return org


async def find_org(session: AsyncSession, name_or_id: str) -> Org:
    """By id, else by exact name (the CLI's argument)."""
    try:
        return await get_org(session, UUID(name_or_id))
    except (ValueError, NotFound):
        org = await session.scalar(sa.select(Org).where(Org.name == name_or_id))
        if org is None:
            raise NotFound(f"no organisation with the id or name {name_or_id!r}") from None
        return org


async def create_key(
    session: AsyncSession, keyring: KeyRing, org: Org, label: str | None
) -> tuple[ApiKey, str]:
    """A new key for ``org``; the key itself is returned once and never stored."""
    new = make_key(org.role, keyring)
    api_key = ApiKey(org_id=org.id, prefix=new.prefix, hash=new.hash, label=label)
    session.add(api_key)
    await session.flush()
    return api_key, new.key


async def list_keys(session: AsyncSession, org: Org) -> list[ApiKey]:
    query = sa.select(ApiKey).where(ApiKey.org_id == org.id).order_by(ApiKey.created_at)
    return list(await session.scalars(query))


async def revoke_key(session: AsyncSession, key_id: UUID) -> None:
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound("no such key")
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await session.flush()


async def set_quota(session: AsyncSession, org_id: UUID, monthly_records: int | None) -> Org:
    org = await get_org(session, org_id)
    if org.role != "buyer":
        # The request is well formed; the organisation is what it conflicts with.
        raise Conflict("quotas apply to buyer organisations: this one is not a buyer")
    org.monthly_quota = monthly_records
    await session.flush()  # the row lock: verifies in flight finish first, new ones wait
    if monthly_records is not None:
        await count_month(session, org.id, month_of(datetime.now(UTC)), reset=True)
    return org
