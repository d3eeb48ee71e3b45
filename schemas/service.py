"""Service: health and the signing key."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok"]


class SigningKeyOut(BaseModel):
    version: int
    key: str
    algorithm: Literal["HMAC-SHA256-128"]
    spec: Literal["idcheck-v1"]
