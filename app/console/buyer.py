"""A buyer's pages: this month against its quota and by day, its keys, and a small verify form
(billed like any verify, a purpose required)."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter
from fastapi import File
from fastapi import Form
from fastapi import Request
from fastapi import Response
from fastapi import UploadFile

from app.console.charts import bar_chart
from app.console.charts import gauge
from app.console.verify_form import FILE_ROWS
from app.console.verify_form import MAX_FILE_BYTES
from app.console.verify_form import PASTED_ROWS
from app.console.verify_form import data_url
from app.console.verify_form import decode
from app.console.verify_form import read_rows
from app.console.verify_form import request_of
from app.console.verify_form import results_csv
from app.console.web import CONSOLE
from app.console.web import ConsoleRoute
from app.console.web import Viewer
from app.console.web import page
from app.console.web import viewer_for
from app.deps import KeyRingDep
from app.deps import MetricsDep
from app.deps import PageDep
from app.deps import SessionDep
from app.deps import SettingsDep
from app.deps import TransactionDep
from app.errors import InvalidInput
from app.errors import detail
from app.routes.verify import Verifier
from app.services.admin import get_org
from app.services.admin import list_keys
from app.services.quotas import quota_status
from app.services.usage import every_period
from app.services.usage import period_bounds
from app.services.usage import usage_rows
from schemas.vocabulary import Endpoint
from schemas.vocabulary import Period
from schemas.vocabulary import Role
from signatures import KINDS

router = APIRouter(prefix=CONSOLE, route_class=ConsoleRoute, include_in_schema=False)

BuyerViewer = Annotated[Viewer, viewer_for(Role.BUYER, sandbox=True)]
LiveBuyerViewer = Annotated[Viewer, viewer_for(Role.BUYER)]


@router.get("/usage", name="console_usage")
async def usage(
    request: Request, viewer: BuyerViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    """This month: billable records against the quota (a test key: its sandbox usage, no quota),
    and by day."""
    principal = viewer.principal
    now = datetime.now(UTC)
    start, end = period_bounds(Period.THIS_MONTH, now.date())
    found = await usage_rows(
        session, start, end, ["day"], buyer_id=principal.org_id, test=principal.test
    )
    days = [(start + timedelta(days=n)).isoformat() for n in range((now.date() - start).days + 1)]
    rows = every_period(found, days)
    quota = None
    if not principal.test:
        org = await get_org(session, principal.org_id)
        quota = await quota_status(session, org, settings.evaluation_allowance, now)
    used = sum(row["billable_records"] for row in rows)
    limit = None if quota is None else quota["monthly_records"]
    return page(
        request,
        viewer,
        "usage.html",
        rows=rows,
        quota=quota,
        gauge=gauge(used, limit, "billable records this month"),
        chart=bar_chart(
            [(row["period"][5:], row["billable_records"]) for row in rows],
            "billable records by day",
        ),
        start=start,
    )


@router.get("/keys", name="console_keys")
async def keys(
    request: Request, viewer: LiveBuyerViewer, session: SessionDep, asked: PageDep
) -> Response:
    """The organisation's keys, by prefix (never a key: only an admin makes them, shown once)."""
    org = await get_org(session, viewer.principal.org_id)
    found, more = await list_keys(session, org, asked)
    return page(request, viewer, "keys.html", keys=found, more=more)


@router.get("/verify", name="console_verify_form")
async def verify_form(request: Request, viewer: BuyerViewer) -> Response:
    return page(request, viewer, "verify.html", pasted=PASTED_ROWS, file_rows=FILE_ROWS)


@router.post("/verify", name="console_verify", operation_id="console_verify")
async def verify(
    request: Request,
    viewer: BuyerViewer,
    transaction: TransactionDep,
    keyring: KeyRingDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    purpose: Annotated[str, Form(max_length=200)] = "",
    country: Annotated[str, Form(max_length=2)] = "FR",
    rows: Annotated[str, Form(max_length=PASTED_ROWS * 2600)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Pasted rows (at most PASTED_ROWS) or a CSV file (at most FILE_ROWS), checked like the
    API's raw verify, billed to the organisation; the results as a table and a CSV file."""
    if file is not None and file.filename:
        data = await file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInput(
                f"the file is over {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                details=[detail(("file",), "too large")],
            )
        records = read_rows(decode(data), FILE_ROWS, "file")
    else:
        records = read_rows(rows, PASTED_ROWS, "rows")
    body = request_of(purpose, country.upper(), records)
    del records
    verifier = Verifier(request, viewer.principal, transaction, keyring, settings, metrics)
    probes = await verifier.probe_raw(body)
    refs = [record.ref for record in body.records]
    verdicts, usage, event_id = await verifier.judge(Endpoint.RAW, body.purpose, probes)
    return page(
        request,
        viewer,
        "verify.html",
        pasted=PASTED_ROWS,
        file_rows=FILE_ROWS,
        results=list(enumerate(zip(refs, verdicts, strict=True), start=1)),
        usage=usage,
        event_id=event_id,
        download=data_url(results_csv(refs, verdicts)),
        kinds=KINDS,
    )
