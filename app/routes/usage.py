"""Usage: finance and admin see everyone's; buyers and holders see their own."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.auth import ClientPrincipal, require
from app.deps import SessionDep
from app.routes import AUTHENTICATED
from app.services.principals import Principal
from app.services.usage import GROUP_BY_PATTERN, UsageLine, parse_group_by, to_csv, usage_rows
from app.transaction import TransactionalRoute
from schemas.common import IsoDate
from schemas.usage import UsageReport, UsageRow
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


def _answer(
    request: Request, rows: list[UsageLine], group_by: list[str], output: str | None
) -> UsageReport | Response:
    wants_csv = output == "csv" or (
        output is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return Response(
            to_csv(rows, group_by),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
        )
    return UsageReport(rows=[UsageRow.model_validate(row) for row in rows])


@router.get("/usage", operation_id="get_usage", responses=_CSV, response_model=UsageReport)
async def usage(
    request: Request,
    _: FinancePrincipal,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    group_by: GroupBy = None,
    format: Format = None,
) -> UsageReport | Response:
    """Usage of every organisation. By buyer: what each is billed. By holder: what each is
    credited. `format=csv` or `Accept: text/csv` gives the same rows as CSV."""
    groups = parse_group_by(group_by)
    rows = await usage_rows(session, start or _this_month(), end or _next_month(), groups)
    return _answer(request, rows, groups, format)


@router.get("/usage/me", operation_id="get_my_usage", responses=_CSV, response_model=UsageReport)
async def my_usage(
    request: Request,
    caller: ClientPrincipal,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    group_by: OwnGroupBy = None,
    format: Format = None,
) -> UsageReport | Response:
    """The caller's own usage: a buyer's queries, or a holder's credited matches.

    Grouped by day or month, or not at all."""
    groups = parse_group_by(group_by)
    scope = (
        {"buyer_id": caller.org_id} if caller.role == Role.BUYER else {"holder_id": caller.org_id}
    )
    rows = await usage_rows(session, start or _this_month(), end or _next_month(), groups, **scope)
    return _answer(request, rows, groups, format)
