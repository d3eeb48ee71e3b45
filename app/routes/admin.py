"""Admin: organisations and their API keys."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from app.audit import audit
from app.auth import AdminPrincipal
from app.deps import KeyRingDep, SessionDep
from app.errors import Conflict
from app.routes import AUTHENTICATED
from app.services import admin as service
from app.services import auditlog, keys
from app.services.privacy import opt_out_raw
from app.transaction import TransactionalRoute
from schemas.admin import (
    AuditLog,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    KeyVersionCreated,
    KeyVersionList,
    OptOut,
    OrgCreate,
    OrgList,
    OrgOut,
    QuotaOut,
    QuotaSet,
)
from schemas.common import IsoDate

router = APIRouter(
    prefix="/v1/admin", tags=["admin"], route_class=TransactionalRoute, responses=AUTHENTICATED
)


@router.post("/orgs", operation_id="create_org", status_code=status.HTTP_201_CREATED)
async def create_org(body: OrgCreate, admin: AdminPrincipal, session: SessionDep) -> OrgOut:
    org = await service.create_org(session, body.name, body.role)
    await audit(session, admin, "org.create", object_type="org", object_id=org.id)
    return OrgOut.model_validate(org, from_attributes=True)


@router.get("/orgs", operation_id="list_orgs")
async def list_orgs(_: AdminPrincipal, session: SessionDep) -> OrgList:
    orgs = await service.list_orgs(session)
    return OrgList(orgs=[OrgOut.model_validate(org, from_attributes=True) for org in orgs])


@router.post("/orgs/{org_id}/keys", operation_id="create_key", status_code=status.HTTP_201_CREATED)
async def create_key(
    org_id: UUID, body: KeyCreate, admin: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> KeyCreated:
    """A new API key; the key is shown in this answer only."""
    org = await service.get_org(session, org_id)
    api_key, key = await service.create_key(session, keyring, org, body.label)
    await audit(session, admin, "key.create", object_type="key", object_id=api_key.id)
    return KeyCreated(id=api_key.id, key=key, prefix=api_key.prefix, created_at=api_key.created_at)


@router.get("/orgs/{org_id}/keys", operation_id="list_keys")
async def list_keys(org_id: UUID, _: AdminPrincipal, session: SessionDep) -> KeyList:
    """An organisation's keys, by prefix; never the keys themselves."""
    org = await service.get_org(session, org_id)
    keys = await service.list_keys(session, org)
    return KeyList(keys=[KeyOut.model_validate(key, from_attributes=True) for key in keys])


@router.delete("/keys/{key_id}", operation_id="revoke_key", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: UUID, admin: AdminPrincipal, session: SessionDep) -> Response:
    """The key stops working at once; not the one making this request (use another admin key, or
    `idcheck admin` on the server), so that no admin locks everyone out by mistake."""
    if key_id == admin.key_id:
        raise Conflict("this is the key making the request: revoke it with another admin key")
    await service.revoke_key(session, key_id)
    await audit(session, admin, "key.revoke", object_type="key", object_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/orgs/{org_id}/quota", operation_id="set_quota")
async def set_quota(
    org_id: UUID, body: QuotaSet, admin: AdminPrincipal, session: SessionDep
) -> QuotaOut:
    """A buyer's monthly billable records; a request that would pass it gets 429, unbilled."""
    org = await service.set_quota(session, org_id, body.monthly_records)
    if body.monthly_records is None:
        await audit(session, admin, "quota.lift", object_type="org", object_id=org_id)
    else:
        await audit(
            session, admin, "quota.set", object_type="org", object_id=org_id,
            monthly_records=body.monthly_records,
        )  # fmt: skip
    return QuotaOut(org_id=org.id, monthly_records=org.monthly_quota)


@router.post("/optouts", operation_id="admin_opt_out", status_code=status.HTTP_204_NO_CONTENT)
async def opt_out(
    body: OptOut, admin: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> Response:
    """A person's objection: from now on no check on that email or phone matches, anywhere."""
    values = await opt_out_raw(session, keyring, admin.org_id, body.email, body.phone, body.country)
    await audit(session, admin, "optout.add", index_values=values)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/key-versions", operation_id="list_key_versions")
async def list_key_versions(_: AdminPrincipal, session: SessionDep) -> KeyVersionList:
    """Each signing-key version, and the datasets whose records use it."""
    return KeyVersionList.model_validate({"versions": await keys.report(session)})


async def _reload_keyring(app: FastAPI) -> None:
    app.state.keyring = await keys.load_keyring(app.state.engine, app.state.settings.master_secret)


@router.post(
    "/key-versions",
    operation_id="rotate_signing_key",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyVersionCreated,
)
async def rotate_signing_key(
    request: Request, admin: AdminPrincipal, session: SessionDep
) -> JSONResponse:
    """Version n+1 becomes current at once in this worker, in the others within 30 s."""
    version = await keys.rotate(session)
    await audit(
        session, admin, "key_version.rotate", object_type="key_version", object_id=version.version
    )
    return JSONResponse(
        KeyVersionCreated(version=version.version).model_dump(),
        status_code=status.HTTP_201_CREATED,
        background=BackgroundTask(_reload_keyring, request.app),
    )


@router.delete(
    "/key-versions/{version}",
    operation_id="retire_key_version",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def retire_key_version(
    request: Request,
    version: Annotated[int, Path(ge=1, le=32767)],
    admin: AdminPrincipal,
    session: SessionDep,
) -> Response:
    """A version that is not current and signs no live record: no longer accepted or used."""
    await keys.retire(session, version)
    await audit(session, admin, "key_version.retire", object_type="key_version", object_id=version)
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        background=BackgroundTask(_reload_keyring, request.app),
    )


@router.get("/audit", operation_id="admin_audit")
async def admin_audit(
    _: AdminPrincipal,
    session: SessionDep,
    org_id: UUID | None = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    dataset_id: UUID | None = None,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditLog:
    """Who did what, newest first: admin actions, uploads, deletions, objections, verifies."""
    found = await auditlog.entries(
        session, org_id=org_id, action=action, dataset_id=dataset_id, start=start, end=end,
        limit=limit,
    )  # fmt: skip
    return AuditLog(entries=found)
