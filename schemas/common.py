"""Types shared by the wire models."""

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import BaseModel
from pydantic import BeforeValidator
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StringConstraints

from signatures.kinds import MAX_CLOSE_FORMS
from signatures.kinds import PAIR_KINDS
from signatures.kinds import PairKind

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Model(BaseModel):
    """Wire models refuse unknown fields: a typo is a 422, not a silent omission."""

    model_config = ConfigDict(extra="forbid")


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


#: A date written YYYY-MM-DD and nothing else (no timestamps, no other formats).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
#: Free text that is stored (names, labels, a purpose): no control character, and no white space
#: at either end (refused rather than trimmed, so that the schema says exactly what is accepted).
PRINTABLE = r"^(?:[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?)?$"

StoredText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
Label = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]

#: ISO 3166-1 alpha-2 codes, the values a request's default_country may take.
CountryCode = StrEnum(  # type: ignore[misc]  # built from the standard's own list
    "CountryCode", {country.alpha_2: country.alpha_2 for country in pycountry.countries}
)


Signature = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
#: A record's close forms (spec section 8): pair kind -> the signatures of its forms, in order.
CloseSignatures = Annotated[
    dict[PairKind, Annotated[list[Signature], Field(max_length=MAX_CLOSE_FORMS)]],
    Field(max_length=len(PAIR_KINDS)),
]


class CloseForms(Model):
    """A signed record's close forms of its names, beside its ``signatures``. A close form is a
    statement of its own (it signs the kind's fields and the given name), so it stands whether
    or not the kind's own signature came with it: the OpenAPI schema can say no more."""

    close: CloseSignatures = Field(default_factory=dict)


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("an integer is a JSON number, not a boolean or a string")
    return value


#: Integers in requests are JSON integers (JSON Schema's: 3 and 3.0 alike), never a boolean or a
#: numeric string: ``Annotated[int, Field(...), JSON_INTEGER]`` (after the bounds, which then
#: stay in the JSON schema).
JSON_INTEGER = BeforeValidator(_json_integer)
KeyVersionNumber = Annotated[int, Field(ge=1, le=32767), JSON_INTEGER]


class ErrorDetail(BaseModel):
    index: int | None = None
    field: str | None = None
    message: str


class ErrorInfo(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str
    details: list[ErrorDetail] = []
    #: The request's id, as in its X-Request-Id header: what to quote to support.
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorInfo
