"""Buyers: verify requests and results."""

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import KeyVersion, Model, Signature
from schemas.datasets import Kind

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Ref = Annotated[str, StringConstraints(max_length=128)]
Value = Annotated[str, StringConstraints(max_length=256)]
Field_ = Literal[
    "email", "phone", "first_name", "last_name", "street", "postcode", "country", "birth_date"
]


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
    purpose: Purpose
    default_country: Annotated[str, StringConstraints(min_length=2, max_length=64)] = "FR"
    records: Annotated[list[RawRecord], Field(min_length=1)]


class SignedRecord(Model):
    ref: Ref | None = None
    key_version: KeyVersion
    signatures: Annotated[dict[Kind, Signature], Field(max_length=6)]


class SignedVerifyRequest(Model):
    purpose: Purpose
    records: Annotated[list[SignedRecord], Field(min_length=1)]


class Check(BaseModel):
    match: bool
    sources: int
    last_seen: date | None


class Result(BaseModel):
    ref: str | None
    checks: dict[Kind, Check]
    invalid: list[Field_]
    verdict: Literal["verified", "partial", "unverified", "invalid"]


class UsageSummary(BaseModel):
    records: int
    billable_records: int
    matched_records: int


class VerifyResponse(BaseModel):
    results: list[Result]
    usage: UsageSummary
