"""Admin: organisations and their API keys."""

from datetime import UTC
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Path
from fastapi import Query
from fastapi import Request
from fastapi import Response
from fastapi import status
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from app.auth import AdminPrincipal
from app.deps import KeyRingDep
from app.deps import PageDep
from app.deps import SessionDep
from app.deps import SettingsDep
from app.deps import refresh_keyring
from app.errors import Conflict
from app.routes import AUTHENTICATED
from app.services import admin as service
from app.services import auditlog
from app.services import evaluations
from app.services import key_versions
from app.services.privacy import opt_out_raw
from app.services.quotas import quota_status
from app.transaction import TransactionalRoute
from schemas.admin import AuditLog
from schemas.admin import EvaluationQuotaOut
from schemas.admin import EvaluationQuotaSet
from schemas.admin import KeyCreate
from schemas.admin import KeyCreated
from schemas.admin import KeyList
from schemas.admin import KeyOut
from schemas.admin import KeyVersionCreated
from schemas.admin import KeyVersionList
from schemas.admin import OptOut
from schemas.admin import OrgCreate
from schemas.admin import OrgList
from schemas.admin import OrgOut
from schemas.admin import QuotaOut
from schemas.admin import QuotaSet
from schemas.admin import RotateIn
from schemas.common import IsoDate
from schemas.usage import QuotaStatus
from schemas.vocabulary import CLIENT_ROLES
from schemas.vocabulary import AuditAction
from signatures import Scheme

router = APIRouter(
    prefix="/v1/admin", tags=["admin"], route_class=TransactionalRoute, responses=AUTHENTICATED
)


@router.post("/orgs", operation_id="create_org", status_code=status.HTTP_201_CREATED)
async def create_org(body: OrgCreate, admin: AdminPrincipal, session: SessionDep) -> OrgOut:
    org = await service.create_org(session, admin, body.name, body.role)
    return OrgOut.model_validate(org, from_attributes=True)


@router.get("/orgs", operation_id="list_orgs")
async def list_orgs(_: AdminPrincipal, session: SessionDep, asked: PageDep) -> OrgList:
    """Every organisation, oldest first, a page at a time."""
    orgs, more = await service.list_orgs(session, asked)
    return OrgList(
        orgs=[OrgOut.model_validate(org, from_attributes=True) for org in orgs], has_more=more
    )


@router.post("/orgs/{org_id}/keys", operation_id="create_key", status_code=status.HTTP_201_CREATED)
async def create_key(
    org_id: UUID, body: KeyCreate, admin: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> KeyCreated:
    """A new API key; the key is shown in this answer only. `test: true` makes a test key (a
    holder's or a buyer's): the sandbox only, never billed (docs/sandbox.md)."""
    org = await service.get_org(session, org_id)
    api_key, key = await service.create_key(
        session, admin, keyring, org, body.label, test=body.test
    )
    return KeyCreated(
        id=api_key.id,
        key=key,
        prefix=api_key.prefix,
        created_at=api_key.created_at,
        test=api_key.test,
    )


@router.get("/orgs/{org_id}/keys", operation_id="list_keys")
async def list_keys(
    org_id: UUID, _: AdminPrincipal, session: SessionDep, asked: PageDep
) -> KeyList:
    """An organisation's keys, by prefix, oldest first; never the keys themselves."""
    org = await service.get_org(session, org_id)
    keys, more = await service.list_keys(session, org, asked)
    return KeyList(
        keys=[KeyOut.model_validate(key, from_attributes=True) for key in keys], has_more=more
    )


@router.delete("/keys/{key_id}", operation_id="revoke_key", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: UUID, admin: AdminPrincipal, session: SessionDep) -> Response:
    """The key stops working at once; not the one making this request (use another admin key, or
    `idcheck admin` on the server), so that no admin locks everyone out by mistake (409)."""
    await service.revoke_key(session, admin, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/orgs/{org_id}/quota", operation_id="set_quota")
async def set_quota(
    org_id: UUID, body: QuotaSet, admin: AdminPrincipal, session: SessionDep
) -> QuotaOut:
    """A buyer's monthly billable records; a request that would pass it gets 429, unbilled."""
    org = await service.set_quota(session, admin, org_id, body.monthly_records)
    return QuotaOut(org_id=org.id, monthly_records=org.monthly_quota)


@router.get("/orgs/{org_id}/quota", operation_id="get_quota")
async def get_quota(
    org_id: UUID, _: AdminPrincipal, session: SessionDep, settings: SettingsDep
) -> QuotaStatus:
    """Where an organisation stands this month: its quotas, what it used, what is left."""
    org = await service.get_org(session, org_id)
    status = await quota_status(session, org, settings.evaluation_allowance, datetime.now(UTC))
    return QuotaStatus.model_validate(status)


@router.put("/orgs/{org_id}/evaluation-quota", operation_id="set_evaluation_quota")
async def set_evaluation_quota(
    org_id: UUID,
    body: EvaluationQuotaSet,
    admin: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> EvaluationQuotaOut:
    """A holder's or buyer's monthly blind evaluations (null: back to the default); a request
    that would pass it gets 429 quota_exceeded, nothing evaluated."""
    org = await service.get_org(session, org_id)
    if org.role not in CLIENT_ROLES:
        raise Conflict("evaluation quotas apply to holders and buyers: this one is neither")
    await evaluations.set_evaluation_quota(session, admin, org, body.monthly_evaluations)
    effective = await evaluations.quota(session, org, settings.evaluation_allowance)
    return EvaluationQuotaOut(
        org_id=org.id, monthly_evaluations=org.monthly_evaluation_quota, effective=effective
    )


@router.post("/optouts", operation_id="admin_opt_out", status_code=status.HTTP_204_NO_CONTENT)
async def opt_out(
    body: OptOut, admin: AdminPrincipal, session: SessionDep, keyring: KeyRingDep
) -> Response:
    """A person's objection: from now on no check on that email or phone matches, anywhere."""
    await opt_out_raw(session, admin, keyring, body.email, body.phone, body.country)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/key-versions", operation_id="list_key_versions")
async def list_key_versions(_: AdminPrincipal, session: SessionDep) -> KeyVersionList:
    """Each signing-key version, and the datasets whose records use it."""
    return KeyVersionList.model_validate({"versions": await key_versions.report(session)})


@router.post(
    "/key-versions",
    operation_id="rotate_signing_key",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyVersionCreated,
)
async def rotate_signing_key(
    request: Request, admin: AdminPrincipal, session: SessionDep, body: RotateIn | None = None
) -> JSONResponse:
    """Version n+1, of the scheme asked (HMAC by default; `oprf-ristretto255-sha512` for blind
    mode), becomes current at once in this worker, in the others within 30 s."""
    scheme = body.scheme if body is not None else Scheme.HMAC
    version = await key_versions.rotate(session, admin, scheme)
    return JSONResponse(
        KeyVersionCreated(version=version.version, scheme=scheme).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        background=BackgroundTask(refresh_keyring, request.app),
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
    await key_versions.retire(session, admin, version)
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        background=BackgroundTask(refresh_keyring, request.app),
    )


@router.get("/audit", operation_id="admin_audit")
async def admin_audit(
    _: AdminPrincipal,
    session: SessionDep,
    asked: PageDep,
    org_id: UUID | None = None,
    action: AuditAction | None = None,
    dataset_id: UUID | None = None,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> AuditLog:
    """Who did what, newest first: admin actions, uploads, deletions, objections, verifies."""
    found, more = await auditlog.entries(
        session, org_id=org_id, action=action, dataset_id=dataset_id, start=start, end=end,
        asked=asked,
    )  # fmt: skip
    return AuditLog.model_validate({"entries": found, "has_more": more}, from_attributes=True)
