"""Usage reports, for finance (everyone) and for each organisation (its own).

Buyer-side rows come from usage events: what a buyer is billed. Holder-side rows come from the
credits: a holder's `matched_records` are the buyer records its data confirmed, its `requests` the
requests it matched in, and `records` / `billable_records` those requests' totals. Several holders
can confirm one record, so holder totals may exceed the buyer-side matched total.

`evaluations` are the blind evaluations (blind mode) an organisation made itself: a buyer row
shows the buyer's, a holder row the holder's, a row of neither every organisation's in scope; a
row of a buyer and a holder together has none (an evaluation belongs to one organisation). They
are not billed records.
"""

import csv
import io
from collections.abc import Sequence
from datetime import date
from datetime import timedelta
from typing import Any
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.errors import InvalidInput
from app.models import Dataset
from app.models import EvaluationDay
from app.models import Org
from app.models import UsageCredit
from app.models import UsageDatasetCredit
from app.models import UsageEvent
from schemas.vocabulary import Period

GROUPS: Final = ("buyer", "holder", "day", "month")
_GROUP_COLUMNS: Final = {
    "buyer": ("buyer", "buyer_id"),
    "holder": ("holder", "holder_id"),
    "day": ("period",),
    "month": ("period",),
}
MEASURES: Final = ("requests", "records", "billable_records", "matched_records", "evaluations")
#: One row of a report: the group columns asked for (names and ids of buyers or holders, a
#: period), then MEASURES.
UsageLine = dict[str, Any]


#: What group_by may hold: names from GROUPS, comma-separated (the routes' schema says the same).
GROUP_BY_PATTERN: Final = rf"^({'|'.join(GROUPS)})(,({'|'.join(GROUPS)}))*$"


def period_bounds(period: Period, today: date) -> tuple[date, date]:
    """[start, end) of a relative period, as of ``today`` (UTC)."""
    this_month = today.replace(day=1)
    if period is Period.THIS_MONTH:
        next_month = (this_month + timedelta(days=31)).replace(day=1)
        return this_month, next_month
    if period is Period.LAST_MONTH:
        return (this_month - timedelta(days=1)).replace(day=1), this_month
    return today - timedelta(days=29), today + timedelta(days=1)  # LAST_30_DAYS, today included


def parse_group_by(text: str | None) -> list[str]:
    """Groups in GROUPS order; a repeat counts once, and day with month groups by day."""
    asked = {part.strip() for part in (text or "").split(",") if part.strip()}
    unknown = asked - set(GROUPS)
    if unknown:
        raise InvalidInput(
            "group_by is a comma-separated list of buyer, holder, day and month",
            details=[{"index": None, "field": "query.group_by", "message": "unknown group"}],
        )
    if "day" in asked:
        asked.discard("month")
    return [group for group in GROUPS if group in asked]


async def usage_rows(
    session: AsyncSession,
    start: date,
    end: date,
    group_by: Sequence[str],
    *,
    buyer_id: UUID | None = None,
    holder_id: UUID | None = None,
    test: bool = False,
) -> list[UsageLine]:
    """Rows for events of days in [start, end), grouped as asked, optionally one org's only:
    the live (billable) events, or with ``test`` the test keys' (sandbox, never billed).

    An empty period has no events: grouped, no row; not grouped, one row of zeros."""
    event = UsageEvent
    holder_side = "holder" in group_by or holder_id is not None
    if holder_side:
        matched = sa.func.sum(UsageCredit.matched_records)
        query = sa.select().select_from(UsageCredit).join(event, event.id == UsageCredit.event_id)
    else:
        matched = sa.func.sum(event.matched_records)
        query = sa.select().select_from(event)
    columns: dict[str, Any] = {}
    if "buyer" in group_by:
        buyer = aliased(Org)
        query = query.join(buyer, buyer.id == event.buyer_org_id)
        columns |= {"buyer": buyer.name, "buyer_id": buyer.id}
    if "holder" in group_by:
        holder = aliased(Org)
        query = query.join(holder, holder.id == UsageCredit.holder_org_id)
        columns |= {"holder": holder.name, "holder_id": holder.id}
    if "day" in group_by:
        columns["period"] = event.day
    if "month" in group_by:
        columns["period"] = event.month
    measures = {
        "requests": sa.func.count(),
        "records": sa.func.coalesce(sa.func.sum(event.records), 0),
        "billable_records": sa.func.coalesce(sa.func.sum(event.billable_records), 0),
        "matched_records": sa.func.coalesce(matched, 0),
    }
    query = query.add_columns(
        *(column.label(name) for name, column in (columns | measures).items())
    ).where(event.day >= start, event.day < end, event.test.is_(test))
    if buyer_id is not None:
        query = query.where(event.buyer_org_id == buyer_id)
    if holder_id is not None:
        query = query.where(UsageCredit.holder_org_id == holder_id)
    if columns:
        query = query.group_by(*columns.values()).order_by(*columns.values())
    rows: list[UsageLine] = []
    for row in (await session.execute(query)).mappings():
        values = dict(row)
        if isinstance(values.get("period"), date):
            values["period"] = values["period"].isoformat()
        rows.append(values)
    # Evaluations are an organisation's, whichever key made them: reported with its live usage.
    evaluations = (
        {} if test else await _evaluations(session, start, end, group_by, buyer_id, holder_id)
    )
    return _merge(rows, evaluations, _columns(group_by))


def _columns(group_by: Sequence[str]) -> list[str]:
    """The group columns of a report grouped by ``group_by``, in GROUPS order."""
    return [column for group in GROUPS if group in group_by for column in _GROUP_COLUMNS[group]]


async def _evaluations(
    session: AsyncSession,
    start: date,
    end: date,
    group_by: Sequence[str],
    buyer_id: UUID | None,
    holder_id: UUID | None,
) -> dict[tuple[Any, ...], int]:
    """Evaluations by the group columns' values (in _GROUP_COLUMNS order); months from days."""
    if "buyer" in group_by and "holder" in group_by:
        return {}
    day = EvaluationDay
    query = (
        sa.select(Org.role, Org.name, Org.id, day.day, sa.func.sum(day.evaluations))
        .join(Org, Org.id == day.org_id)
        .where(day.day >= start, day.day < end)
        .group_by(Org.role, Org.name, Org.id, day.day)
    )
    for org_id in (buyer_id, holder_id):
        if org_id is not None:
            query = query.where(day.org_id == org_id)
    found: dict[tuple[Any, ...], int] = {}
    for role, name, org_id, when, count in await session.execute(query):
        key: tuple[Any, ...] = ()
        for group in ("buyer", "holder"):
            if group in group_by:
                if role != group:
                    break
                key += (name, org_id)
        else:
            if "day" in group_by:
                key += (when.isoformat(),)
            elif "month" in group_by:
                key += (when.strftime("%Y-%m"),)
            found[key] = found.get(key, 0) + int(count)
    return found


def _merge(
    rows: list[UsageLine], evaluations: dict[tuple[Any, ...], int], columns: list[str]
) -> list[UsageLine]:
    """The event rows with their evaluations, and a row of its own for evaluations alone."""
    by_key = {tuple(row[c] for c in columns): row for row in rows}
    for row in rows:
        row["evaluations"] = 0
    for key, count in evaluations.items():
        if key not in by_key:
            by_key[key] = dict(zip(columns, key, strict=True)) | dict.fromkeys(MEASURES, 0)
        by_key[key]["evaluations"] = count
    return [by_key[key] for key in sorted(by_key, key=lambda key: tuple(map(str, key)))]


def every_period(rows: Sequence[UsageLine], periods: Sequence[str]) -> list[UsageLine]:
    """Rows grouped by day or by month (alone), one for each of ``periods`` in that order: a
    period without usage is a row of zeros (a chart's gap shows as a gap)."""
    found = {row["period"]: row for row in rows}
    return [
        found.get(period, {"period": period, **dict.fromkeys(MEASURES, 0)}) for period in periods
    ]


async def dataset_earnings(
    session: AsyncSession, holder_id: UUID, start: date, end: date
) -> list[UsageLine]:
    """A holder's matched records by month and dataset, for live events of days in [start, end):
    ``period``, ``dataset_id``, ``dataset`` (its name; None once deleted), ``matched_records``.
    Months before per-dataset credits (migration 0011) have no rows."""
    credit, event = UsageDatasetCredit, UsageEvent
    query = (
        sa.select(
            event.month.label("period"),
            credit.dataset_id,
            Dataset.name.label("dataset"),
            sa.func.sum(credit.matched_records).label("matched_records"),
        )
        .join(event, event.id == credit.event_id)
        .outerjoin(Dataset, Dataset.id == credit.dataset_id)
        .where(
            credit.holder_org_id == holder_id,
            event.day >= start,
            event.day < end,
            event.test.is_(False),
        )
        .group_by(event.month, credit.dataset_id, Dataset.name)
        .order_by(event.month, Dataset.name, credit.dataset_id)
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]


def to_csv(rows: Sequence[UsageLine], group_by: Sequence[str]) -> str:
    """The same rows as CSV, with a header line; group columns only for the groups asked."""
    header = _columns(group_by) + list(MEASURES)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in header])
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A cell as a spreadsheet will read it: text that could start a formula (an organisation's
    name, say) gets a leading apostrophe (OWASP, CSV injection); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
