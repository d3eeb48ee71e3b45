"""A holder's pages: its datasets (counts by kind, uploads, retention), the objections that reach
its data, and what its data earned (matched records credited to it, by month)."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Request
from fastapi import Response

from app.console.charts import bar_chart
from app.console.web import CONSOLE
from app.console.web import ConsoleRoute
from app.console.web import Viewer
from app.console.web import page
from app.console.web import viewer_for
from app.deps import PageDep
from app.deps import SessionDep
from app.services import datasets as service
from app.services.auditlog import optouts_seen
from app.services.pages import FIRST_PAGE
from app.services.usage import dataset_earnings
from app.services.usage import every_period
from app.services.usage import period_bounds
from app.services.usage import usage_rows
from matching import withheld_records
from schemas.vocabulary import Period
from schemas.vocabulary import Role
from signatures import KINDS

router = APIRouter(prefix=CONSOLE, route_class=ConsoleRoute, include_in_schema=False)

HolderViewer = Annotated[Viewer, viewer_for(Role.HOLDER, sandbox=True)]
LiveHolderViewer = Annotated[Viewer, viewer_for(Role.HOLDER)]

#: Months of earnings shown: this one and the eleven before.
EARNING_MONTHS = 12


@router.get("/datasets", name="console_datasets")
async def datasets(
    request: Request, viewer: HolderViewer, session: SessionDep, asked: PageDep
) -> Response:
    found, more = await service.list_datasets(session, viewer.principal, asked)
    rows = [(dataset, await service.counts(session, dataset)) for dataset in found]
    return page(request, viewer, "datasets.html", rows=rows, more=more)


@router.get("/datasets/{dataset_id}", name="console_dataset")
async def dataset(
    request: Request, viewer: HolderViewer, session: SessionDep, dataset_id: UUID
) -> Response:
    """One of the caller's datasets (404 for anyone else's, as in the API)."""
    found = await service.owned_dataset(session, viewer.principal, dataset_id)
    return page(
        request,
        viewer,
        "dataset.html",
        dataset=found,
        counts=await service.counts(session, found),
        withheld=await withheld_records(session, found.id),
        uploads=await service.upload_history(session, found),
        kinds=KINDS,
    )


@router.get("/opt-outs", name="console_opt_outs")
async def opt_outs(request: Request, viewer: LiveHolderViewer, session: SessionDep) -> Response:
    mine, _ = await service.list_datasets(session, viewer.principal, FIRST_PAGE)
    withheld = [(dataset, await withheld_records(session, dataset.id)) for dataset in mine]
    events = await optouts_seen(session, viewer.principal.org_id)
    return page(request, viewer, "opt_outs.html", withheld=withheld, events=events)


@router.get("/earnings", name="console_earnings")
async def earnings(request: Request, viewer: LiveHolderViewer, session: SessionDep) -> Response:
    """Matched records credited to the holder, month by month over the last year, and by
    dataset."""
    holder = viewer.principal.org_id
    this_month, end = period_bounds(Period.THIS_MONTH, datetime.now(UTC).date())
    months = [this_month]
    for _ in range(EARNING_MONTHS - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    start = months[0]
    found = await usage_rows(session, start, end, ["month"], holder_id=holder)
    rows = every_period(found, [month.strftime("%Y-%m") for month in months])
    chart = bar_chart(
        [(row["period"], row["matched_records"]) for row in rows], "matched records by month"
    )
    by_dataset = await dataset_earnings(session, holder, start, end)
    totals: dict[str, int] = {}
    for row in by_dataset:
        name = row["dataset"] or "(deleted dataset)"
        totals[name] = totals.get(name, 0) + row["matched_records"]
    dataset_chart = bar_chart(list(totals.items()), "matched records by dataset, last 12 months")
    return page(
        request, viewer, "earnings.html", rows=rows, chart=chart, start=start,
        by_dataset=by_dataset, dataset_chart=dataset_chart,
        totals=[{"dataset": name, "matched_records": count} for name, count in totals.items()],
    )  # fmt: skip
