"""Finance: usage rows, grouped by buyer, holder, day or month."""

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


class UsageReport(BaseModel):
    rows: list[UsageRow]
