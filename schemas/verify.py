"""Buyers: verify requests and results."""

from datetime import date
from typing import Annotated
from typing import Final
from uuid import UUID

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints

from schemas.common import CloseForms
from schemas.common import CountryCode
from schemas.common import KeyVersionNumber
from schemas.common import Model
from schemas.common import Signature
from schemas.common import StoredText
from schemas.vocabulary import Level
from schemas.vocabulary import Verdict
from signatures.kinds import KINDS
from signatures.kinds import FieldName
from signatures.kinds import Kind
from signatures.kinds import slots

#: The ceiling of records per verify request; a server may be configured lower (its schema says).
MAX_VERIFY_RECORDS: Final = 100_000
Ref = Annotated[str, StringConstraints(max_length=128)]
Value = Annotated[str, StringConstraints(max_length=256)]


class RawRecord(Model):
    ref: Ref | None = None
    email: Value | None = None
    phone: Value | None = None
    first_name: Value | None = None
    last_name: Value | None = None
    street: Value | None = None
    postcode: Value | None = None
    city: Value | None = None
    country: Value | None = None
    birth_date: Value | None = None


class VerifyRequest(Model):
    purpose: StoredText
    default_country: CountryCode = CountryCode("FR")
    records: Annotated[list[RawRecord], Field(min_length=1, max_length=MAX_VERIFY_RECORDS)]


#: Key versions a signed record may carry besides its first (a buyer signs with every live one).
MAX_OTHER_VERSIONS: Final = 3
Signatures = Annotated[dict[Kind, Signature], Field(max_length=len(KINDS))]


class VersionSignatures(CloseForms):
    key_version: KeyVersionNumber
    signatures: Signatures


class SignedVerifyRecord(CloseForms):
    """A record's signatures under ``key_version`` (with the close forms of its names, spec
    section 8: its pair checks then get a level) and, optionally, under other live versions too
    (``other_versions``): it is one record, billed once, matched under each."""

    ref: Ref | None = None
    key_version: KeyVersionNumber
    signatures: Signatures
    other_versions: Annotated[list[VersionSignatures], Field(max_length=MAX_OTHER_VERSIONS)] = (
        Field(default_factory=list)
    )

    def versions(self) -> list[tuple[int, dict[str, str]]]:
        """(key version, signatures by slot) of every version the record is signed with."""
        every: list[SignedVerifyRecord | VersionSignatures] = [self, *self.other_versions]
        return [(signed.key_version, slots(signed.signatures, signed.close)) for signed in every]


class SignedVerifyRequest(Model):
    purpose: StoredText
    records: Annotated[list[SignedVerifyRecord], Field(min_length=1, max_length=MAX_VERIFY_RECORDS)]


class Check(BaseModel):
    #: Matched as written: the same as ``level == "exact"``.
    match: bool
    #: exact, close (pair kinds: the names written another way; never verifies alone) or none.
    level: Level
    sources: int
    last_seen: date | None


class Result(BaseModel):
    ref: str | None
    checks: dict[Kind, Check]
    invalid: list[FieldName]
    verdict: Verdict


class UsageSummary(BaseModel):
    records: int
    billable_records: int
    matched_records: int
    #: The usage event that bills this answer (also in the audit log): the handle for a dispute.
    event_id: UUID


class VerifyResponse(BaseModel):
    results: list[Result]
    usage: UsageSummary
