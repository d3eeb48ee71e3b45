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
from app.routes import AUTHENTICATED
from app.services.principals import Principal
from app.services.usage import GROUP_BY_PATTERN
from app.services.usage import parse_group_by
from app.services.usage import to_csv
from app.services.usage import usage_rows
from app.transaction import TransactionalRoute
from schemas.common import IsoDate
from schemas.usage import UsageReport
from schemas.usage import UsageRow
from schemas.vocabulary import Role

router = APIRouter(
    prefix="/v1", tags=["usage"], route_class=TransactionalRoute, responses=AUTHENTICATED
)
FinancePrincipal = Annotated[Principal, require(Role.FINANCE, Role.ADMIN)]

_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/csv": {}}}}


def _this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


def _next_month() -> date:
    first = _this_month()
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


Start = Annotated[
    IsoDate | None, Query(alias="from", description="first day (default: this month's)")
]
End = Annotated[IsoDate | None, Query(alias="to", description="day after the last (exclusive)")]
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
    format: Format = None

    async def answer(
        self, group_by: str | None, *, buyer_id: UUID | None = None, holder_id: UUID | None = None
    ) -> UsageReport | Response:
        groups = parse_group_by(group_by)
        start, end = self.start or _this_month(), self.end or _next_month()
        rows = await usage_rows(
            self.session, start, end, groups, buyer_id=buyer_id, holder_id=holder_id
        )
        accepts_csv = "text/csv" in self.request.headers.get("accept", "")
        if self.format == "csv" or (self.format is None and accepts_csv):
            return Response(
                to_csv(rows, groups),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
            )
        return UsageReport(rows=[UsageRow.model_validate(row) for row in rows])


ReportDep = Annotated[Report, Depends()]


@router.get("/usage", operation_id="get_usage", responses=_CSV, response_model=UsageReport)
async def usage(
    _: FinancePrincipal, report: ReportDep, group_by: GroupBy = None
) -> UsageReport | Response:
    """Usage of every organisation. By buyer: what each is billed. By holder: what each is
    credited. `format=csv` or `Accept: text/csv` gives the same rows as CSV."""
    return await report.answer(group_by)


@router.get("/usage/me", operation_id="get_my_usage", responses=_CSV, response_model=UsageReport)
async def my_usage(
    caller: ClientPrincipal, report: ReportDep, group_by: OwnGroupBy = None
) -> UsageReport | Response:
    """The caller's own usage: a buyer's queries, or a holder's credited matches.

    Grouped by day or month, or not at all."""
    if caller.role == Role.BUYER:
        return await report.answer(group_by, buyer_id=caller.org_id)
    return await report.answer(group_by, holder_id=caller.org_id)
