"""One error base class that carries its status; one handler renders them all (docs/api.md's
shape). The codes are :class:`schemas.vocabulary.ErrorCode`'s."""

from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import ClassVar
from typing import Final

from pydantic import BaseModel

from app.logs import current_request_id
from matching import KeyRing
from schemas import admin
from schemas import datasets
from schemas import service
from schemas import verify
from schemas.vocabulary import STATUS
from schemas.vocabulary import ErrorCode
from signatures import FIELDS
from signatures import KINDS


class IdcheckError(Exception):
    """An error answer: its code (``schemas.vocabulary.ErrorCode``) says its status. A subclass
    names its code in its bases: ``class NotFound(IdcheckError, code=ErrorCode.NOT_FOUND)``."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR

    def __init_subclass__(cls, code: ErrorCode | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        code: ErrorCode | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may refine its class's code

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def body(self) -> dict[str, Any]:
        """docs/api.md's error shape, with the id of the request it answers (for support)."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "request_id": current_request_id(),
            }
        }


class BadRequest(IdcheckError, code=ErrorCode.BAD_REQUEST): ...


class Forbidden(IdcheckError, code=ErrorCode.FORBIDDEN): ...


class NotFound(IdcheckError, code=ErrorCode.NOT_FOUND): ...


class MethodNotAllowed(IdcheckError, code=ErrorCode.METHOD_NOT_ALLOWED): ...


class Conflict(IdcheckError, code=ErrorCode.CONFLICT): ...


class PayloadTooLarge(IdcheckError, code=ErrorCode.PAYLOAD_TOO_LARGE): ...


class UnsupportedMediaType(IdcheckError, code=ErrorCode.UNSUPPORTED_MEDIA_TYPE): ...


class InvalidInput(IdcheckError, code=ErrorCode.INVALID_INPUT): ...


class TooManyRequests(IdcheckError, code=ErrorCode.RATE_LIMITED):
    """429: a rate limit (code rate_limited) or a quota (code quota_exceeded)."""


class InvalidJson(BadRequest, code=ErrorCode.INVALID_JSON):
    def __init__(self) -> None:
        super().__init__("the body is not valid JSON")


class Unauthenticated(IdcheckError, code=ErrorCode.UNAUTHENTICATED):
    def __init__(self) -> None:
        # Unknown, revoked and malformed keys all get this same body.
        super().__init__(
            "a valid API key is required: Authorization: Bearer idc_...",
            headers={"WWW-Authenticate": "Bearer"},
        )


class StoreUnavailable(IdcheckError, code=ErrorCode.STORE_UNAVAILABLE):
    def __init__(self) -> None:
        super().__init__(
            "the store is unavailable: nothing was answered, nothing was billed",
            headers={"Retry-After": "5"},
        )


class RequestTimeout(IdcheckError, code=ErrorCode.REQUEST_TIMEOUT):
    """408: the client stopped sending its body (or sent it too slowly); the connection closes."""

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Connection": "close"})


_MODELS: Final = [
    model
    for module in (admin, datasets, service, verify)
    for model in vars(module).values()
    if isinstance(model, type) and issubclass(model, BaseModel)
]

# Names a location may show. A dict key the client sent is none of these and is dropped: it could
# be anything, a raw email included, and nothing the client sent comes back in an error.
_NAMES: Final = frozenset(
    {
        *FIELDS,
        *KINDS,
        *(name for model in _MODELS for name in model.model_fields),
        *("path", "query", "header", "dataset_id", "org_id", "key_id"),
    }
)


def detail(loc: Sequence[int | str], message: str) -> dict[str, Any]:
    """{"index", "field", "message"} from a location such as ("records", 3, "email") (index 3,
    field email) or ("elements", 7) (index 7, field elements)."""
    parts = list(loc)
    index = None
    if len(parts) >= 2 and parts[0] in ("records", "elements") and isinstance(parts[1], int):
        index = parts[1]
        parts = parts[2:] if parts[0] == "records" else [parts[0], *parts[2:]]
    shown = [str(part) for part in parts if isinstance(part, int) or part in _NAMES]
    return {"index": index, "field": ".".join(shown) or None, "message": message}


def validation_details(
    errors: Sequence[Any], *, strip: int = 0, prefix: tuple[int | str, ...] = ()
) -> list[dict[str, Any]]:
    """Pydantic errors -> details; ``input`` and ``ctx`` (which may hold raw values) are dropped.

    ``strip`` drops leading location parts (FastAPI's "body"); ``prefix`` puts some in front (the
    record a line-by-line validation was about)."""
    return [detail((*prefix, *tuple(e["loc"])[strip:]), str(e["msg"])) for e in errors]


def unknown_versions(
    keyring: KeyRing, records: Iterable[Sequence[tuple[int, object]]]
) -> list[dict[str, Any]]:
    """A detail for each key version (by record index) that is not live; a record's first
    version is its ``key_version``, the others its ``other_versions``."""
    return [
        detail(
            ("records", index, "key_version")
            if position == 0
            else ("records", index, "other_versions", position - 1, "key_version"),
            "unknown key version",
        )
        for index, versions in enumerate(records)
        for position, (version, _) in enumerate(versions)
        if not keyring.knows(version)
    ]
