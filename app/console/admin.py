"""An admin's pages: organisations (made here), their keys (made here and shown once; revoked),
quotas, the signing-key versions (rotated, retired), and the audit log with filters."""

from datetime import UTC
from datetime import datetime
from typing import Annotated
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi import Form
from fastapi import Path
from fastapi import Query
from fastapi import Request
from fastapi import Response
from fastapi.responses import RedirectResponse
from starlette.background import BackgroundTask

from app.console.web import CONSOLE
from app.console.web import ConsoleRoute
from app.console.web import Viewer
from app.console.web import form_day
from app.console.web import page
from app.console.web import validated
from app.console.web import viewer_for
from app.deps import KeyRingDep
from app.deps import PageDep
from app.deps import SessionDep
from app.deps import SettingsDep
from app.deps import refresh_keyring
from app.services import admin as service
from app.services import key_versions
from app.services.auditlog import entries
from app.services.pages import FIRST_PAGE
from app.services.quotas import quota_status
from schemas.admin import KeyCreate
from schemas.admin import OrgCreate
from schemas.admin import QuotaSet
from schemas.admin import RotateIn
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Role
from signatures import Scheme

router = APIRouter(prefix=f"{CONSOLE}/admin", route_class=ConsoleRoute, include_in_schema=False)

AdminViewer = Annotated[Viewer, viewer_for(Role.ADMIN)]
Text = Annotated[str, Form(max_length=200)]


def _back(path: str, background: BackgroundTask | None = None) -> Response:
    """After a form: the page it came from, asked for again (a reload sends nothing twice)."""
    return RedirectResponse(f"{CONSOLE}/admin{path}", status_code=303, background=background)


@router.get("/orgs", name="console_orgs")
async def orgs(
    request: Request, viewer: AdminViewer, session: SessionDep, asked: PageDep
) -> Response:
    found, more = await service.list_orgs(session, asked)
    return page(request, viewer, "admin_orgs.html", orgs=found, more=more, roles=list(Role))


@router.post("/orgs", name="console_create_org")
async def create_org(
    viewer: AdminViewer, session: SessionDep, name: Text = "", role: Text = ""
) -> Response:
    body = validated(OrgCreate, {"name": name, "role": role})
    org = await service.create_org(session, viewer.principal, body.name, body.role)
    return _back(f"/orgs/{org.id}")


async def _org_page(
    request: Request, viewer: Viewer, session: SessionDep, settings: SettingsDep, org_id: UUID,
    new_key: str | None = None,
) -> Response:  # fmt: skip
    """An organisation: its keys (a new one shown once, in the answer that made it), its quota."""
    org = await service.get_org(session, org_id)
    keys, more = await service.list_keys(session, org, FIRST_PAGE)
    quota = await quota_status(session, org, settings.evaluation_allowance, datetime.now(UTC))
    return page(
        request, viewer, "admin_org.html", org=org, keys=keys, more=more, quota=quota,
        new_key=new_key, buyer=org.role == Role.BUYER,
    )  # fmt: skip


@router.get("/orgs/{org_id}", name="console_org")
async def org(
    request: Request, viewer: AdminViewer, session: SessionDep, settings: SettingsDep, org_id: UUID
) -> Response:
    return await _org_page(request, viewer, session, settings, org_id)


@router.post("/orgs/{org_id}/keys", name="console_create_key")
async def create_key(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyRingDep,
    org_id: UUID,
    label: Text = "",
    test: Annotated[bool, Form()] = False,
) -> Response:
    """The key is in this page only: a reload asks to send the form again (a new key), never
    shows this one."""
    body = validated(KeyCreate, {"label": label or None, "test": test})
    found = await service.get_org(session, org_id)
    _, key = await service.create_key(
        session, viewer.principal, keyring, found, body.label, test=body.test
    )
    return await _org_page(request, viewer, session, settings, org_id, new_key=key)


@router.post("/keys/{key_id}/revoke", name="console_revoke_key")
async def revoke_key(
    viewer: AdminViewer,
    session: SessionDep,
    key_id: UUID,
    org_id: Annotated[UUID | None, Form()] = None,
) -> Response:
    """Back to the key's organisation (the form names it), else to the list."""
    await service.revoke_key(session, viewer.principal, key_id)
    return _back(f"/orgs/{org_id}" if org_id else "/orgs")


@router.post("/orgs/{org_id}/quota", name="console_set_quota")
async def set_quota(
    viewer: AdminViewer, session: SessionDep, org_id: UUID, monthly_records: Text = ""
) -> Response:
    """A buyer's monthly billable records; empty lifts the quota."""
    cleaned = monthly_records.replace(",", "").replace(" ", "").replace("\u202f", "")
    number: int | str | None = int(cleaned) if cleaned.isdigit() else cleaned or None
    body = validated(QuotaSet, {"monthly_records": number})
    await service.set_quota(session, viewer.principal, org_id, body.monthly_records)
    return _back(f"/orgs/{org_id}")


@router.get("/key-versions", name="console_key_versions")
async def versions(request: Request, viewer: AdminViewer, session: SessionDep) -> Response:
    report = await key_versions.report(session)
    return page(request, viewer, "admin_key_versions.html", versions=report, schemes=list(Scheme))


@router.post("/key-versions", name="console_rotate")
async def rotate(
    request: Request, viewer: AdminViewer, session: SessionDep, scheme: Text = Scheme.HMAC.value
) -> Response:
    """Version n+1 becomes current: here at once (after the commit), in other workers within
    30 s, as with the API."""
    chosen = validated(RotateIn, {"scheme": scheme}).scheme
    await key_versions.rotate(session, viewer.principal, chosen)
    return _back("/key-versions", BackgroundTask(refresh_keyring, request.app))


@router.post("/key-versions/{version}/retire", name="console_retire")
async def retire(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    version: Annotated[int, Path(ge=1, le=32767)],
) -> Response:
    await key_versions.retire(session, viewer.principal, version)
    return _back("/key-versions", BackgroundTask(refresh_keyring, request.app))


@router.get("/audit", name="console_audit")
async def audit(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    asked: PageDep,
    org_id: Annotated[UUID | Literal[""], Query()] = "",
    action: Annotated[AuditAction | Literal[""], Query()] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The log, newest first, filtered as asked (an empty field filters nothing)."""
    filters = {"org_id": org_id, "action": action, "from": start, "to": end}
    found, more = await entries(
        session,
        org_id=org_id or None,
        action=action or None,
        start=form_day(start, "from"),
        end=form_day(end, "to"),
        asked=asked,
    )
    names = await service.org_names(session, (event.org_id for event in found))
    return page(
        request, viewer, "admin_audit.html", events=found, more=more, actions=list(AuditAction),
        names=names,
        filters={name: value for name, value in filters.items() if value},
    )  # fmt: skip
