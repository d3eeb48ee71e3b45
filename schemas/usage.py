"""Usage rows, grouped by buyer, holder, day or month; where an organisation stands against its
quotas."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class UsageRow(BaseModel):
    buyer: str | None = None
    buyer_id: UUID | None = None
    holder: str | None = None
    holder_id: UUID | None = None
    period: str | None = None  # YYYY-MM-DD by day, YYYY-MM by month
    requests: int
    records: int
    billable_records: int
    matched_records: int
    evaluations: int = 0  # blind evaluations the row's organisation made (not billed)


class QuotaStatus(BaseModel):
    """An organisation's month (UTC) against its quotas."""

    month: str  # YYYY-MM
    #: Billable verify records a month (buyers); null: no quota.
    monthly_records: int | None
    used_records: int
    remaining_records: int | None
    #: Blind evaluations a month: the quota set, else the default.
    monthly_evaluations: int
    used_evaluations: int
    remaining_evaluations: int
    #: When the month's counts start again (the first of next month, 00:00 UTC).
    resets_at: datetime


class UsageReport(BaseModel):
    rows: list[UsageRow]
    #: /v1/usage/me only, with a live key: the caller's quotas this month.
    quota: QuotaStatus | None = None
    #: true when the rows are a test key's (sandbox) usage: never billed.
    test: bool = False
