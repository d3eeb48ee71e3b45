"""Admin: organisations and API keys."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, StringConstraints

from schemas.common import Model

Role = Literal["admin", "holder", "buyer", "finance"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrgCreate(Model):
    name: Name
    role: Role


class OrgOut(BaseModel):
    id: UUID
    name: str
    role: Role
    created_at: datetime


class OrgList(BaseModel):
    orgs: list[OrgOut]


class KeyCreate(Model):
    label: Annotated[str, StringConstraints(max_length=200)] | None = None


class KeyCreated(BaseModel):
    id: UUID
    key: str
    prefix: str
    created_at: datetime


class KeyOut(BaseModel):
    id: UUID
    prefix: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    keys: list[KeyOut]
