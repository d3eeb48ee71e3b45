"""Admin: organisations and their API keys."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from app.auth import AdminPrincipal
from app.deps import KeyRingDep, SessionDep
from app.routes import AUTHENTICATED
from app.services import admin as service
from app.services.privacy import opt_out_raw
from app.transaction import TransactionalRoute
from schemas.admin import (
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    OptOut,
    OrgCreate,
    OrgList,
    OrgOut,
    QuotaOut,
    QuotaSet,
)

router = APIRouter(
    prefix="/v1/admin", tags=["admin"], route_class=TransactionalRoute, responses=AUTHENTICATED
)


@router.post("/orgs", operation_id="create_org", status_code=status.HTTP_201_CREATED)
async def create_org(body: OrgCreate, _: AdminPrincipal, session: SessionDep) -> OrgOut:
    org = await service.create_org(session, body.name, body.role)
    return OrgOut.model_validate(org, from_attributes=True)


@router.get("/orgs", operation_id="list_orgs")
async def list_orgs(_: AdminPrincipal, session: SessionDep) -> OrgList:
    orgs = await service.list_orgs(session)
    return OrgList(orgs=[OrgOut.model_validate(org, from_attributes=True) for org in orgs])


@router.post("/orgs/{org_id}/keys", operation_id="create_key", status_code=status.HTTP_201_CREATED)
async def create_key(
    org_id: UUID, body: KeyCreate, _: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> KeyCreated:
    """A new API key; the key is shown in this answer only."""
    org = await service.get_org(session, org_id)
    api_key, key = await service.create_key(session, keyring, org, body.label)
    return KeyCreated(id=api_key.id, key=key, prefix=api_key.prefix, created_at=api_key.created_at)


@router.get("/orgs/{org_id}/keys", operation_id="list_keys")
async def list_keys(org_id: UUID, _: AdminPrincipal, session: SessionDep) -> KeyList:
    """An organisation's keys, by prefix; never the keys themselves."""
    org = await service.get_org(session, org_id)
    keys = await service.list_keys(session, org)
    return KeyList(keys=[KeyOut.model_validate(key, from_attributes=True) for key in keys])


@router.delete("/keys/{key_id}", operation_id="revoke_key", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: UUID, _: AdminPrincipal, session: SessionDep) -> Response:
    """The key stops working at once."""
    await service.revoke_key(session, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/orgs/{org_id}/quota", operation_id="set_quota")
async def set_quota(
    org_id: UUID, body: QuotaSet, _: AdminPrincipal, session: SessionDep
) -> QuotaOut:
    """A buyer's monthly billable records; a request that would pass it gets 429, unbilled."""
    org = await service.set_quota(session, org_id, body.monthly_records)
    return QuotaOut(org_id=org.id, monthly_records=org.monthly_quota)


@router.post("/optouts", operation_id="admin_opt_out", status_code=status.HTTP_204_NO_CONTENT)
async def opt_out(
    body: OptOut, admin: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> Response:
    """A person's objection: from now on no check on that email or phone matches, anywhere."""
    await opt_out_raw(session, keyring, admin.org_id, body.email, body.phone, body.country)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
