"""Service: health, key versions, the signing keys of HMAC versions and blind evaluation."""

from typing import Annotated
from typing import Final
from typing import Literal

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints

from schemas.common import KeyVersionNumber
from schemas.common import Model
from signatures import Scheme

#: Blinded elements per evaluation request.
MAX_EVALUATE_ELEMENTS: Final = 10_000
#: A ristretto255 element: 32 bytes as 64 lower-case hex characters.
Element = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Health(BaseModel):
    #: degraded (/readyz): replicas are configured and none takes lookups, which the primary
    #: answers meanwhile.
    status: Literal["ok", "degraded"]
    #: /readyz with replicas configured: how many there are, and how many take lookups now.
    replicas: int | None = None
    usable_replicas: int | None = None


class SigningKeyOut(BaseModel):
    version: int
    key: str
    algorithm: Literal["HMAC-SHA256-128"]
    spec: Literal["idcheck-v1"]


class SigningKeyList(BaseModel):
    """Every live HMAC version's key, oldest first (a buyer signs with each)."""

    keys: list[SigningKeyOut]


class KeyVersionInfo(BaseModel):
    version: int
    scheme: Scheme
    spec: Literal["idcheck-v1"]


class CurrentKeyVersion(KeyVersionInfo):
    """The version clients sign with now, and every live version (records of each still match)."""

    live: list[KeyVersionInfo]


class EvaluateRequest(Model):
    key_version: KeyVersionNumber
    elements: Annotated[list[Element], Field(min_length=1, max_length=MAX_EVALUATE_ELEMENTS)]


class EvaluateResponse(BaseModel):
    key_version: int
    evaluated: list[str]
