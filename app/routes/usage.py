"""Usage: finance and admin see everyone's; buyers and holders see their own."""

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Query
from fastapi import Request
from fastapi import Response

from app.auth import ClientPrincipal
from app.auth import require
from app.deps import SessionDep
from app.deps import SettingsDep
from app.errors import InvalidInput
from app.routes import AUTHENTICATED
from app.services.admin import get_org
from app.services.principals import Principal
from app.services.quotas import quota_status
from app.services.usage import GROUP_BY_PATTERN
from app.services.usage import parse_group_by
from app.services.usage import period_bounds
from app.services.usage import to_csv
from app.services.usage import usage_rows
from app.transaction import TransactionalRoute
from schemas.common import IsoDate
from schemas.usage import QuotaStatus
from schemas.usage import UsageReport
from schemas.usage import UsageRow
from schemas.vocabulary import Period
from schemas.vocabulary import Role

router = APIRouter(
    prefix="/v1", tags=["usage"], route_class=TransactionalRoute, responses=AUTHENTICATED
)
FinancePrincipal = Annotated[Principal, require(Role.FINANCE, Role.ADMIN)]

_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/csv": {}}}}


Start = Annotated[
    IsoDate | None, Query(alias="from", description="first day (default: this month's)")
]
End = Annotated[IsoDate | None, Query(alias="to", description="day after the last (exclusive)")]
RelativePeriod = Annotated[
    Period | None,
    Query(description="this_month, last_month or last_30_days (UTC); not with from or to"),
]
Test = Annotated[
    bool, Query(description="the test keys' (sandbox) usage instead of the billable usage")
]
GroupBy = Annotated[
    str | None,
    Query(pattern=GROUP_BY_PATTERN, description="comma-separated: buyer, holder, day, month"),
]
OwnGroupBy = Annotated[
    str | None, Query(pattern=r"^(day|month)(,(day|month))*$", description="day or month")
]
Format = Annotated[str | None, Query(pattern="^(json|csv)$", description="json (default) or csv")]


@dataclass
class Report:
    """A usage report as both routes answer it: the period, and JSON or CSV."""

    request: Request
    session: SessionDep
    start: Start = None
    end: End = None
    period: RelativePeriod = None
    format: Format = None

    def bounds(self) -> tuple[date, date]:
        """[from, to): a relative period, or the dates given (default: this month)."""
        today = datetime.now(UTC).date()
        if self.period is not None:
            if self.start is not None or self.end is not None:
                raise InvalidInput(
                    "give a period or from/to dates, not both",
                    details=[{"index": None, "field": "query.period", "message": "with from/to"}],
                )
            return period_bounds(self.period, today)
        this_month = period_bounds(Period.THIS_MONTH, today)
        return self.start or this_month[0], self.end or this_month[1]

    async def answer(
        self,
        group_by: str | None,
        *,
        buyer_id: UUID | None = None,
        holder_id: UUID | None = None,
        test: bool = False,
        quota: dict[str, Any] | None = None,
    ) -> UsageReport | Response:
        groups = parse_group_by(group_by)
        start, end = self.bounds()
        rows = await usage_rows(
            self.session, start, end, groups, buyer_id=buyer_id, holder_id=holder_id, test=test
        )
        accepts_csv = "text/csv" in self.request.headers.get("accept", "")
        if self.format == "csv" or (self.format is None and accepts_csv):
            name = f"usage-{'test-' if test else ''}{start}-{end}.csv"
            return Response(
                to_csv(rows, groups),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return UsageReport(
            rows=[UsageRow.model_validate(row) for row in rows],
            quota=None if quota is None else QuotaStatus.model_validate(quota),
            test=test,
        )


ReportDep = Annotated[Report, Depends()]


@router.get("/usage", operation_id="get_usage", responses=_CSV, response_model=UsageReport)
async def usage(
    _: FinancePrincipal, report: ReportDep, group_by: GroupBy = None, test: Test = False
) -> UsageReport | Response:
    """Usage of every organisation. By buyer: what each is billed. By holder: what each is
    credited. `format=csv` or `Accept: text/csv` gives the same rows as CSV. Test keys' usage
    (the sandbox) is never in these totals; `test=true` shows it alone."""
    return await report.answer(group_by, test=test)


@router.get("/usage/me", operation_id="get_my_usage", responses=_CSV, response_model=UsageReport)
async def my_usage(
    caller: ClientPrincipal,
    report: ReportDep,
    settings: SettingsDep,
    group_by: OwnGroupBy = None,
) -> UsageReport | Response:
    """The caller's own usage: a buyer's queries, or a holder's credited matches, grouped by day
    or month, or not at all; with a live key, where the caller stands against its monthly quotas
    (`quota`). A test key sees its organisation's test usage (the sandbox), never billed."""
    quota = None
    if not caller.test:
        org = await get_org(report.session, caller.org_id)
        quota = await quota_status(
            report.session, org, settings.evaluation_allowance, datetime.now(UTC)
        )
    if caller.role == Role.BUYER:
        return await report.answer(group_by, buyer_id=caller.org_id, test=caller.test, quota=quota)
    return await report.answer(group_by, holder_id=caller.org_id, test=caller.test, quota=quota)
