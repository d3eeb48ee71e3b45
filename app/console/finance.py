"""Finance's page (admins' too): usage by buyer, by holder, by day or by month for any period,
relative or not, as a table and a chart, and the same view as CSV."""

from typing import Annotated
from typing import Final
from typing import Literal

from fastapi import APIRouter
from fastapi import Query
from fastapi import Request
from fastapi import Response

from app.console.charts import bar_chart
from app.console.web import CONSOLE
from app.console.web import ConsoleRoute
from app.console.web import Viewer
from app.console.web import form_day
from app.console.web import page
from app.console.web import viewer_for
from app.deps import SessionDep
from app.routes.usage import Report
from app.services.usage import GROUPS
from app.services.usage import usage_rows
from schemas.vocabulary import Period
from schemas.vocabulary import Role

router = APIRouter(prefix=CONSOLE, route_class=ConsoleRoute, include_in_schema=False)

FinanceViewer = Annotated[Viewer, viewer_for(Role.FINANCE, Role.ADMIN)]
Group = Annotated[str, Query(pattern=f"^({'|'.join(GROUPS)})$")]

#: What each view's chart shows: a buyer is billed its billable records, a holder credited its
#: matched records; a period's bars show what buyers were billed.
_CHARTED: Final = {"buyer": "billable_records", "holder": "matched_records"}


@router.get("/finance", name="console_finance")
async def finance(
    request: Request,
    viewer: FinanceViewer,
    session: SessionDep,
    group: Group = "buyer",
    period: Annotated[Period | Literal[""], Query()] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    format: Annotated[Literal["", "csv"], Query()] = "",
) -> Response:
    """A relative period wins over the dates (the form sends both)."""
    report = Report(
        request,
        session,
        start=None if period else form_day(start, "from"),
        end=None if period else form_day(end, "to"),
        period=period or None,
        format=format or None,
    )
    if format == "csv":
        return await report.answer(group)  # type: ignore[return-value]
    start_day, end_day = report.bounds()
    rows = await usage_rows(session, start_day, end_day, [group])
    measure = _CHARTED.get(group, "billable_records")
    label = group if group in _CHARTED else "period"  # a row names its buyer or holder
    chart = bar_chart(
        [(str(row[label]), int(row[measure])) for row in rows],
        f"{measure.replace('_', ' ')} by {group}",
    )
    query = request.url.query
    return page(
        request,
        viewer,
        "finance.html",
        rows=rows,
        chart=chart,
        group=group,
        groups=GROUPS,
        label=label,
        periods=list(Period),
        period=report.period,
        start=start_day,
        end=end_day,
        csv_link=f"{CONSOLE}/finance?{query}{'&' if query else ''}format=csv",
    )
