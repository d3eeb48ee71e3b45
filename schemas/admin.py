"""Admin: organisations and API keys."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel
from pydantic import Field
from pydantic import StrictBool
from pydantic import StringConstraints

from schemas.common import JSON_INTEGER
from schemas.common import Label
from schemas.common import Model
from schemas.common import StoredText
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Role
from signatures import Scheme


class OrgCreate(Model):
    name: StoredText
    role: Role


class OrgOut(BaseModel):
    id: UUID
    name: str
    role: Role
    created_at: datetime


class OrgList(BaseModel):
    orgs: list[OrgOut]
    #: More follow: ask again with starting_after = the last one's id.
    has_more: bool = False


class KeyCreate(Model):
    label: Label | None = None
    #: A test key (idc_<role>_test_...): the sandbox only, never billed; holders and buyers.
    test: StrictBool = False


class KeyCreated(BaseModel):
    id: UUID
    key: str
    prefix: str
    created_at: datetime
    test: bool = False


class KeyOut(BaseModel):
    id: UUID
    prefix: str
    label: str | None
    test: bool
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    keys: list[KeyOut]
    #: More follow: ask again with starting_after = the last one's id.
    has_more: bool = False


class QuotaSet(Model):
    #: Billable records a month (UTC calendar month); null lifts the quota.
    monthly_records: Annotated[int, Field(ge=0, le=10**12), JSON_INTEGER] | None


class QuotaOut(BaseModel):
    org_id: UUID
    monthly_records: int | None


class OptOut(Model):
    """A person's objection, raw: normalised by the spec, kept as index values only."""

    email: Annotated[str, StringConstraints(max_length=256)] | None = None
    phone: Annotated[str, StringConstraints(max_length=256)] | None = None
    #: The phone's country when it is written nationally (default FR).
    country: Annotated[str, StringConstraints(max_length=64)] | None = None


class KeyVersionDataset(BaseModel):
    id: UUID
    name: str
    holder: str
    records: int


class KeyVersionOut(BaseModel):
    version: int
    scheme: Scheme
    created_at: datetime
    retired_at: datetime | None
    current: bool
    datasets: list[KeyVersionDataset]


class KeyVersionList(BaseModel):
    versions: list[KeyVersionOut]


class RotateIn(Model):
    scheme: Scheme = Scheme.HMAC


class KeyVersionCreated(BaseModel):
    version: int
    scheme: Scheme


class EvaluationQuotaSet(Model):
    """Blind evaluations a month; null goes back to the default."""

    monthly_evaluations: Annotated[int, Field(ge=0, le=10**15), JSON_INTEGER] | None


class EvaluationQuotaOut(BaseModel):
    org_id: UUID
    monthly_evaluations: int | None  # the quota set; null: the default
    effective: int  # what holds this month (the default when none is set)


class AuditEntry(BaseModel):
    id: UUID
    at: datetime
    org_id: UUID | None
    key_id: UUID | None
    action: AuditAction
    object_type: str | None
    object_id: str | None
    dataset_id: UUID | None
    event_id: UUID | None
    counts: dict[str, int]


class AuditLog(BaseModel):
    entries: list[AuditEntry]
    #: More follow: ask again with starting_after = the last one's id.
    has_more: bool = False
