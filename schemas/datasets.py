"""Holders: datasets and record uploads."""

from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Final
from typing import Literal
from uuid import UUID

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints

from schemas.common import JSON_INTEGER
from schemas.common import CloseForms
from schemas.common import IsoDate
from schemas.common import KeyVersionNumber
from schemas.common import Model
from schemas.common import Signature
from schemas.common import StoredText
from schemas.vocabulary import SnapshotState
from signatures.kinds import KINDS
from signatures.kinds import Kind
from signatures.kinds import slots

#: GDPR article 6(1): the lawful basis on which the holder keeps and shares the data.
LegalBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# Ceilings of each request list; a server may be configured lower (its schema says so).
MAX_BATCH_RECORDS: Final = 10_000_000
MAX_DELETE_IDS: Final = 1_000_000
MAX_OPTOUTS: Final = 10_000


class DatasetCreate(Model):
    name: StoredText
    legal_basis: LegalBasis
    retention_days: Annotated[int, Field(ge=1, le=3650), JSON_INTEGER] = 1095


class DatasetOut(BaseModel):
    id: UUID
    name: str
    legal_basis: LegalBasis
    retention_days: int
    created_at: datetime


class DatasetList(BaseModel):
    datasets: list[DatasetOut]
    #: More follow: ask again with starting_after = the last one's id.
    has_more: bool = False


class DatasetDetail(DatasetOut):
    records: int
    signatures: int
    by_kind: dict[Kind, int]
    #: Signatures of the close forms of names, besides ``signatures`` (tolerant checks).
    close_forms: int = 0
    last_upload_at: datetime | None
    #: Records removed because their retention ran out, in all, and the last time it happened.
    purged_records: int
    last_purge_at: datetime | None
    #: The first day a record runs out of its retention: the purge after it takes that record.
    next_expiry: date | None = None


class UploadRecord(CloseForms):
    """R of docs/api.md: one holder record, as signatures only, with the close forms of its
    names (docs/signature-spec.md section 8) by pair kind, in order."""

    external_id: ExternalId
    updated_at: IsoDate
    key_version: KeyVersionNumber
    signatures: Annotated[dict[Kind, Signature], Field(min_length=1, max_length=len(KINDS))]

    def slots(self) -> dict[str, str]:
        return slots(self.signatures, self.close)


class UploadBody(Model):
    records: Annotated[list[UploadRecord], Field(min_length=1, max_length=MAX_BATCH_RECORDS)]


class UploadResult(BaseModel):
    upserted: int
    batch_id: UUID


class DeleteRecords(Model):
    external_ids: Annotated[list[ExternalId], Field(min_length=1, max_length=MAX_DELETE_IDS)]


class DeleteResult(BaseModel):
    deleted: int


class ContactSignatures(Model):
    email: Signature | None = None
    phone: Signature | None = None


class SignedOptOut(Model):
    key_version: KeyVersionNumber
    signatures: ContactSignatures


class SignedOptOuts(Model):
    """Objections a holder received, forwarded as signatures of the email and/or phone."""

    records: Annotated[list[SignedOptOut], Field(min_length=1, max_length=MAX_OPTOUTS)]


class SnapshotOut(BaseModel):
    id: UUID
    dataset_id: UUID
    status: SnapshotState
    created_at: datetime
    closed_at: datetime | None
    #: Records swapped in, once committed.
    records: int
