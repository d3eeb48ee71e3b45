"""Organisations and API keys."""

from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.errors import NotFound
from app.models import ApiKey
from app.models import Org
from app.services.audit import audit
from app.services.metering import count_month
from app.services.metering import month_of
from app.services.pages import PageRequest
from app.services.pages import page
from app.services.principals import Principal
from app.services.principals import make_key
from app.services.sandbox import SANDBOX_ORG_ID
from matching import KeyRing
from schemas.vocabulary import CLIENT_ROLES
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Role


async def create_org(session: AsyncSession, actor: Principal | None, name: str, role: str) -> Org:
    if await session.scalar(sa.select(Org.id).where(Org.name == name)) is not None:
        raise Conflict("an organisation of this name exists already")
    org = Org(name=name, role=role)
    session.add(org)
    await session.flush()
    await audit(session, actor, AuditAction.ORG_CREATE, object_type="org", object_id=org.id)
    return org


async def list_orgs(session: AsyncSession, asked: PageRequest) -> tuple[list[Org], bool]:
    """Oldest first; a page of them, and whether more follow."""
    return await page(session, sa.select(Org), (Org.created_at, Org.id), asked)


async def get_org(session: AsyncSession, org_id: UUID) -> Org:
    org = await session.get(Org, org_id)
    if org is None:
        raise NotFound("no such organisation")
    return org


async def org_names(session: AsyncSession, ids: Iterable[UUID | None]) -> dict[UUID, str]:
    """The names of these organisations (one query), for a page that lists their ids."""
    wanted = {org_id for org_id in ids if org_id is not None}
    if not wanted:
        return {}
    rows = await session.execute(sa.select(Org.id, Org.name).where(Org.id.in_(wanted)))
    return {org_id: name for org_id, name in rows}


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
    session: AsyncSession,
    actor: Principal | None,
    keyring: KeyRing,
    org: Org,
    label: str | None,
    *,
    test: bool = False,
) -> tuple[ApiKey, str]:
    """A new key for ``org`` (a test key: the sandbox only); the key itself is returned once and
    never stored."""
    if test and (org.role not in CLIENT_ROLES or org.id == SANDBOX_ORG_ID):
        raise Conflict("test keys are for holder and buyer organisations")
    new = make_key(org.role, keyring, test=test)
    api_key = ApiKey(org_id=org.id, prefix=new.prefix, hash=new.hash, label=label, test=test)
    session.add(api_key)
    await session.flush()
    await audit(session, actor, AuditAction.KEY_CREATE, object_type="key", object_id=api_key.id)
    return api_key, new.key


async def list_keys(
    session: AsyncSession, org: Org, asked: PageRequest
) -> tuple[list[ApiKey], bool]:
    query = sa.select(ApiKey).where(ApiKey.org_id == org.id)
    return await page(session, query, (ApiKey.created_at, ApiKey.id), asked)


async def revoke_key(session: AsyncSession, actor: Principal | None, key_id: UUID) -> None:
    """The key stops working at once; never the actor's own (so that no admin locks everyone out
    by mistake: another admin key, or `idcheck admin` on the server, can)."""
    if actor is not None and key_id == actor.key_id:
        raise Conflict("this is the key making the request: revoke it with another admin key")
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound("no such key")
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await session.flush()
    await audit(session, actor, AuditAction.KEY_REVOKE, object_type="key", object_id=key_id)


async def set_quota(
    session: AsyncSession, actor: Principal | None, org_id: UUID, monthly_records: int | None
) -> Org:
    """A buyer's monthly billable records (None lifts it); a request past it gets 429, unbilled."""
    org = await get_org(session, org_id)
    if org.role != Role.BUYER:
        # The request is well formed; the organisation is what it conflicts with.
        raise Conflict("quotas apply to buyer organisations: this one is not a buyer")
    org.monthly_quota = monthly_records
    await session.flush()  # the row lock: verifies in flight finish first, new ones wait
    if monthly_records is not None:
        await count_month(session, org.id, month_of(datetime.now(UTC)), reset=True)
        await audit(session, actor, AuditAction.QUOTA_SET, object_type="org", object_id=org_id,
                    monthly_records=monthly_records)  # fmt: skip
    else:
        await audit(session, actor, AuditAction.QUOTA_LIFT, object_type="org", object_id=org_id)
    return org
